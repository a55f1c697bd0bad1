"""A per-account scaled clock, so that limits and token lifetimes can be tested in seconds.

Every emulated account (vendor + account id: a Zoho organisation id, a Xero tenant id) has a
clock. By default it is the wall clock. Two knobs, stored in `SandboxClock`:

* `seconds_per_minute`: how many REAL seconds make one vendor minute. With 2, a "100 calls per
  minute" window lasts 2 real seconds and a 3600 s token lives 120 real seconds.
* `offset_seconds`: real seconds added to the wall clock (jump forward past an expiry).

API (all keyword-only after vendor/account; `vendor` is "zoho" or "xero"):

    now(vendor, account) -> datetime                  # wall clock + offset (aware, UTC)
    real_seconds(vendor, account, vendor_seconds) -> float   # vendor duration in real seconds
    expires_at(vendor, account, vendor_seconds) -> datetime  # now + the scaled duration
    window(vendor, account, length_seconds=60) -> Window     # fixed window containing now
    clock_set(vendor=, account=, seconds_per_minute=None, offset_seconds=None) -> SandboxClock
    clock_advance(vendor=, account=, vendor_seconds=) -> SandboxClock   # jump forward

`Window.index` identifies the window (use it as a counter key); `Window.reset_seconds` is the
vendor seconds left until the next window (what `X-Rate-Limit-Reset`/`Retry-After` say).

Inside `request_scope()` (the API views wrap each request in it) the clock row of an account is
read once and remembered for the rest of the request, as is anything else stored with
`remembered(key, compute)` (the fault plan): one lookup per request instead of one per use.
"""

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from django.db import transaction
from django.utils import timezone

from apps.sandbox.models import SandboxClock

REAL_MINUTE = 60.0


@dataclass(frozen=True)
class ClockSettings:
    seconds_per_minute: float = REAL_MINUTE
    offset_seconds: float = 0.0

    @property
    def factor(self) -> float:
        """Real seconds per vendor second."""
        return self.seconds_per_minute / REAL_MINUTE


@dataclass(frozen=True)
class Window:
    index: int
    reset_seconds: int  # vendor seconds until the next window starts
    length_seconds: int  # the window's length in vendor seconds


_request_memo: ContextVar[dict | None] = ContextVar("sandbox_request_memo", default=None)


@contextmanager
def request_scope() -> Iterator[None]:
    """Remember per-account lookups (clock, fault plan) until the block ends."""
    token = _request_memo.set({})
    try:
        yield
    finally:
        _request_memo.reset(token)


def request_scoped(view: Callable) -> Callable:
    """Decorator: run a view inside `request_scope()`."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        with request_scope():
            return view(*args, **kwargs)

    return wrapper


def remembered(key: tuple, compute: Callable[[], object]) -> object:
    """`compute()` once per request scope for `key` (every time outside a scope)."""
    memo = _request_memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def forget(key: tuple) -> None:
    memo = _request_memo.get()
    if memo is not None:
        memo.pop(key, None)


def _settings_row(vendor: str, account: str) -> ClockSettings:
    row = (
        SandboxClock.objects.filter(vendor=vendor, account=str(account))
        .values_list("seconds_per_minute", "offset_seconds")
        .first()
    )
    if row is None:
        return ClockSettings()
    return ClockSettings(seconds_per_minute=row[0], offset_seconds=row[1])


def settings_for(vendor: str, account: str) -> ClockSettings:
    return remembered(("clock", vendor, str(account)), lambda: _settings_row(vendor, account))


def now(vendor: str, account: str, *, clock: ClockSettings | None = None) -> datetime:
    clock = clock or settings_for(vendor, account)
    return timezone.now() + timedelta(seconds=clock.offset_seconds)


def real_seconds(
    vendor: str, account: str, vendor_seconds: float, *, clock: ClockSettings | None = None
) -> float:
    clock = clock or settings_for(vendor, account)
    return vendor_seconds * clock.factor


def expires_at(
    vendor: str, account: str, vendor_seconds: float, *, clock: ClockSettings | None = None
) -> datetime:
    clock = clock or settings_for(vendor, account)
    return now(vendor, account, clock=clock) + timedelta(seconds=vendor_seconds * clock.factor)


def window(
    vendor: str, account: str, length_seconds: int = 60, *, clock: ClockSettings | None = None
) -> Window:
    """The fixed window of `length_seconds` vendor seconds that contains the account's now."""
    clock = clock or settings_for(vendor, account)
    real_length = length_seconds * clock.factor
    moment = now(vendor, account, clock=clock).timestamp()
    index = math.floor(moment / real_length)
    real_left = (index + 1) * real_length - moment
    return Window(
        index=index,
        reset_seconds=max(1, math.ceil(real_left / clock.factor)),
        length_seconds=length_seconds,
    )


@transaction.atomic
def clock_set(
    *,
    vendor: str,
    account: str,
    seconds_per_minute: float | None = None,
    offset_seconds: float | None = None,
) -> SandboxClock:
    if seconds_per_minute is not None and seconds_per_minute <= 0:
        raise ValueError("seconds_per_minute must be positive")
    clock, _ = SandboxClock.objects.select_for_update().get_or_create(
        vendor=vendor, account=str(account)
    )
    if seconds_per_minute is not None:
        clock.seconds_per_minute = seconds_per_minute
    if offset_seconds is not None:
        clock.offset_seconds = offset_seconds
    clock.save()
    forget(("clock", vendor, str(account)))
    return clock


@transaction.atomic
def clock_advance(*, vendor: str, account: str, vendor_seconds: float) -> SandboxClock:
    """Move the account's clock forward by a vendor duration (scaled to real seconds)."""
    clock, _ = SandboxClock.objects.select_for_update().get_or_create(
        vendor=vendor, account=str(account)
    )
    clock.offset_seconds += vendor_seconds * clock.seconds_per_minute / REAL_MINUTE
    clock.save()
    forget(("clock", vendor, str(account)))
    return clock
