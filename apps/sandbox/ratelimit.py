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
    concurrency_slot(vendor=, account=, bucket=, limit=, lease_seconds=) -> context manager
        yielding bool: True when one of `limit` simultaneous slots was taken (released on exit);
        False when all were busy (answer 429 then). A slot is a row with a lease: a request
        killed before it could release its slot stops counting when the lease runs out.

    count_call(vendor=, account=, *, throttled=False)
        Adds one to the account's running totals of calls served and calls answered 429
        (buckets "calls" and "throttled", never reset by a window): what benchmarks read.
    call_counts(vendor=, account=) -> CallCounts(calls, throttled)

`RateResult`: `allowed`, `limit`, `used`, `remaining` (never negative), `reset_seconds`
(vendor seconds until the window ends: use it for `X-Rate-Limit-Reset` / `Retry-After`).

A hit is one statement, `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` (PostgreSQL and
SQLite 3.35+ both have it): no transaction, no read-back, no race between create and update.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import Q

from apps.sandbox import clock
from apps.sandbox.models import ConcurrencySlot, RateCounter

# Real seconds a concurrency slot stays counted unless released: longer than any call the
# sandbox serves (a time-out-after-commit fault stalls 35 s by default).
SLOT_LEASE_SECONDS = 120


@dataclass(frozen=True)
class RateResult:
    allowed: bool
    limit: int
    used: int
    reset_seconds: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def _upsert_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(RateCounter._meta.db_table)
    key = ", ".join(quote(name) for name in ("vendor", "account", "bucket", "window"))
    count = quote("count")
    # Identifiers come from the model, quoted; every value is a parameter.
    return (
        f"INSERT INTO {table} ({key}, {count}) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608
        f"ON CONFLICT ({key}) DO UPDATE SET {count} = {table}.{count} + 1 "
        f"RETURNING {count}"
    )


def _increment(vendor: str, account: str, bucket: str, window: int) -> int:
    """Add one to a counter row (created on first use) and return its new value."""
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [vendor, str(account), bucket, window, 1])
        used = cursor.fetchone()[0]
    if used == 1:
        # A new window began: forget this bucket's windows older than the previous one.
        RateCounter.objects.filter(
            vendor=vendor, account=str(account), bucket=bucket, window__lt=window - 1
        ).delete()
    return used


def rate_hit(
    *, vendor: str, account: str, bucket: str, limit: int, window_seconds: int
) -> RateResult:
    current = clock.window(vendor, account, window_seconds)
    used = _increment(vendor, account, bucket, current.index)
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


# Running totals live in window 0 of their bucket (fixed windows start far above 0).
TOTAL_WINDOW = 0


@dataclass(frozen=True)
class CallCounts:
    calls: int
    throttled: int


def count_call(*, vendor: str, account: str, throttled: bool = False) -> None:
    _increment(vendor, account, "calls", TOTAL_WINDOW)
    if throttled:
        _increment(vendor, account, "throttled", TOTAL_WINDOW)


def call_counts(*, vendor: str, account: str) -> CallCounts:
    rows = dict(
        RateCounter.objects.filter(
            vendor=vendor, account=str(account), bucket__in=("calls", "throttled"), window=0
        ).values_list("bucket", "count")
    )
    return CallCounts(calls=rows.get("calls", 0), throttled=rows.get("throttled", 0))


@contextmanager
def concurrency_slot(
    *,
    vendor: str,
    account: str,
    bucket: str,
    limit: int,
    lease_seconds: float = SLOT_LEASE_SECONDS,
) -> Iterator[bool]:
    """Take a slot (a row leased until now + `lease_seconds` on the account's clock); it is
    granted when at most `limit` fresh slots, this one included, were taken before it."""
    moment = clock.now(vendor, account)
    key = {"vendor": vendor, "account": str(account), "bucket": bucket}
    slot = ConcurrencySlot.objects.create(
        **key, expires_at=moment + timedelta(seconds=lease_seconds)
    )
    try:
        ahead = ConcurrencySlot.objects.filter(
            **key, expires_at__gt=moment, pk__lte=slot.pk
        ).count()
        yield ahead <= limit
    finally:
        # Release this slot, and sweep the bucket's stale ones (left by killed requests).
        ConcurrencySlot.objects.filter(Q(pk=slot.pk) | Q(**key, expires_at__lte=moment)).delete()
