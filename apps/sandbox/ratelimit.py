"""Database-backed rate limits for the emulated vendors: fixed windows on each account's clock.

Counters live in `RateCounter` (vendor, account, bucket, window index), so every web process
serving the sandbox shares them. Windows follow `apps.sandbox.clock`, so a scaled account gets
short "minutes" and "days".

API:

    rate_hit(vendor=, account=, bucket=, limit=, window_seconds=) -> RateResult
        Counts one call and says whether it is within `limit` for the current window. A call
        over the limit is still counted (vendors count refused calls too).
    rate_peek(vendor=, account=, bucket=, limit=, window_seconds=) -> RateResult
        The same figures without counting.
    concurrency_slot(vendor=, account=, bucket=, limit=) -> context manager yielding bool
        True when one of `limit` simultaneous slots was taken (and is released on exit);
        False when all were busy (answer 429 then).

`RateResult`: `allowed`, `limit`, `used`, `remaining` (never negative), `reset_seconds`
(vendor seconds until the window ends: use it for `X-Rate-Limit-Reset` / `Retry-After`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from apps.sandbox import clock
from apps.sandbox.models import RateCounter

# A concurrency slot is a counter in a window that never changes.
CONCURRENCY_WINDOW = -1


@dataclass(frozen=True)
class RateResult:
    allowed: bool
    limit: int
    used: int
    reset_seconds: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def _increment(vendor: str, account: str, bucket: str, window: int, by: int) -> int:
    """Add `by` to a counter row (created on first use) and return its new value."""
    key = {"vendor": vendor, "account": str(account), "bucket": bucket, "window": window}
    with transaction.atomic():
        updated = RateCounter.objects.filter(**key).update(count=F("count") + by)
        if not updated:
            try:
                with transaction.atomic():
                    RateCounter.objects.create(**key, count=max(0, by))
            except IntegrityError:  # another process created it first
                RateCounter.objects.filter(**key).update(count=F("count") + by)
            # A new window began: forget windows of this bucket older than the previous one.
            if window != CONCURRENCY_WINDOW:
                RateCounter.objects.filter(
                    vendor=vendor, account=str(account), bucket=bucket, window__lt=window - 1
                ).exclude(window=CONCURRENCY_WINDOW).delete()
        return RateCounter.objects.filter(**key).values_list("count", flat=True).get()


def rate_hit(
    *, vendor: str, account: str, bucket: str, limit: int, window_seconds: int
) -> RateResult:
    current = clock.window(vendor, account, window_seconds)
    used = _increment(vendor, account, bucket, current.index, 1)
    return RateResult(
        allowed=used <= limit, limit=limit, used=used, reset_seconds=current.reset_seconds
    )


def rate_peek(
    *, vendor: str, account: str, bucket: str, limit: int, window_seconds: int
) -> RateResult:
    current = clock.window(vendor, account, window_seconds)
    used = (
        RateCounter.objects.filter(
            vendor=vendor, account=str(account), bucket=bucket, window=current.index
        )
        .values_list("count", flat=True)
        .first()
    ) or 0
    return RateResult(
        allowed=used < limit, limit=limit, used=used, reset_seconds=current.reset_seconds
    )


@contextmanager
def concurrency_slot(*, vendor: str, account: str, bucket: str, limit: int) -> Iterator[bool]:
    taken = _increment(vendor, account, bucket, CONCURRENCY_WINDOW, 1)
    try:
        yield taken <= limit
    finally:
        _increment(vendor, account, bucket, CONCURRENCY_WINDOW, -1)
