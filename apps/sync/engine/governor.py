"""The rate governor: one request budget per vendor account, shared by every process through a
database row claimed under a lock (select_for_update on PostgreSQL, the IMMEDIATE write lock on
SQLite), or through Redis when REDIS_URL is set (engine/governor_redis.py). Per-window,
concurrent and daily limits; Retry-After honoured; user calls first."""

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from apps.sync.engine import governor_redis, registry
from apps.sync.engine.records import RateLimited
from apps.sync.models import Priority, RateBudget


@dataclass(frozen=True)
class Limits:
    per_window: int
    window_s: float
    concurrent: int | None
    per_day: int
    day_s: float
    lease_s: float
    # Share of the window kept for user-triggered calls: bulk work stops short of it.
    priority_reserve: float = 0.1

    @property
    def margin_s(self) -> float:
        # Our clock starts a call slightly before the vendor's clock counts it; keep a margin so
        # the vendor never sees limit+1 calls in one of its windows.
        return max(0.1, self.window_s * 0.01)

    def cap(self, priority: int) -> int:
        if priority <= Priority.USER:
            return self.per_window
        return max(1, self.per_window - int(self.per_window * self.priority_reserve))


def limits_for(provider: str, *, daily_limit: int | None = None) -> Limits:
    """The limits a provider's connector publishes (the window is one minute; `per_day` is the
    default plan's daily quota, which a connection may override), scaled by SYNC_CLOCK_SCALE
    (tests and benchmarks run fast)."""
    base = {**registry.connector(provider).limits, **settings.SYNC_RATE_LIMITS.get(provider, {})}
    scale = settings.SYNC_CLOCK_SCALE
    return Limits(
        per_window=base["per_window"],
        window_s=60.0 * scale,
        concurrent=base["concurrent"],
        per_day=daily_limit or base["per_day"],
        day_s=86_400.0 * scale,
        lease_s=settings.SYNC_HTTP_TIMEOUT + 5,
        priority_reserve=settings.SYNC_PRIORITY_RESERVE,
    )


def _now() -> float:
    return time.time()


def _wait_needed(budget: RateBudget, limits: Limits, priority: int, now: float) -> float:
    wait = 0.0
    if budget.blocked_until and budget.blocked_until.timestamp() > now:
        wait = budget.blocked_until.timestamp() - now
    cap = limits.cap(priority)
    if len(budget.recent) >= cap:
        # The call that must fall out of the window before one more may start.
        oldest_relevant = budget.recent[len(budget.recent) - cap]
        wait = max(wait, oldest_relevant + limits.window_s + limits.margin_s - now)
    if limits.concurrent is not None and len(budget.leases) >= limits.concurrent:
        wait = max(wait, min(0.02, limits.window_s / 100))
    return wait


def _use_redis() -> bool:
    return bool(settings.REDIS_URL)


def acquire(
    key: str,
    limits: Limits,
    *,
    priority: int = Priority.BULK,
    admitted: Callable[[bool], None] | None = None,
) -> str:
    """Block until the budget allows one more call; return the lease id to release afterwards.

    `admitted(waited)` is called once the call may leave, told whether it had to wait: what the
    caller holds may have lapsed meanwhile (an outbox item's lease). If it raises, the call is
    not made and its slot is given back."""
    lease_id = uuid.uuid4().hex
    take = _acquire_redis if _use_redis() else _acquire_db
    waited = take(key, limits, priority, lease_id)
    if admitted is not None:
        try:
            admitted(waited)
        except BaseException:
            release(key, lease_id)
            raise
    return lease_id


def _acquire_db(key: str, limits: Limits, priority: int, lease_id: str) -> bool:
    """Take a slot in the budget row; returns whether it had to wait for one."""
    waited = False
    while True:
        with transaction.atomic():
            budget = _locked_budget(key)
            now = _now()
            _prune(budget, limits, now)
            if budget.day_count >= limits.per_day:
                budget.save()
                reset_in = budget.day_started_at.timestamp() + limits.day_s - now
                raise RateLimited(
                    f"The daily quota of {limits.per_day} calls for {key} is used up",
                    retry_after=max(reset_in, 0.0),
                )
            wait = _wait_needed(budget, limits, priority, now)
            if wait <= 0:
                budget.recent.append(now)
                budget.leases[lease_id] = now + limits.lease_s
                budget.day_count += 1
                budget.save()
                return waited
            budget.save()
        # Sleep outside the lock; a little jitter keeps waiting processes from waking together.
        time.sleep(min(wait, 1.0) + random.uniform(0, min(wait, 1.0) * 0.05))  # noqa: S311
        waited = True


def _acquire_redis(key: str, limits: Limits, priority: int, lease_id: str) -> bool:
    waited = False
    while True:
        status, wait = governor_redis.try_acquire(key, limits, priority, lease_id)
        if status == 1:
            return waited
        if status == -1:
            raise RateLimited(
                f"The daily quota of {limits.per_day} calls for {key} is used up",
                retry_after=wait,
            )
        time.sleep(min(wait, 1.0) + random.uniform(0, min(wait, 1.0) * 0.05))  # noqa: S311
        waited = True


def release(key: str, lease_id: str) -> None:
    if _use_redis():
        governor_redis.release(key, lease_id)
        return
    with transaction.atomic():
        budget = _locked_budget(key)
        if budget.leases.pop(lease_id, None) is not None:
            budget.save(update_fields=["leases", "updated_at"])


def penalise(key: str, retry_after: float | None, limits: Limits | None) -> None:
    """A 429 is a governor failure: stop everyone until the vendor's Retry-After has passed."""
    # Retry-After counts the vendor's seconds; a sandbox with a fast clock means fewer of ours.
    if retry_after is not None:
        wait = retry_after * settings.SYNC_CLOCK_SCALE
    else:
        wait = limits.window_s if limits else 60.0 * settings.SYNC_CLOCK_SCALE
    if _use_redis():
        governor_redis.penalise(key, wait)
        return
    until = datetime.fromtimestamp(_now() + wait, tz=UTC)
    with transaction.atomic():
        budget = _locked_budget(key)
        if budget.blocked_until is None or budget.blocked_until < until:
            budget.blocked_until = until
        budget.throttled_count += 1
        budget.save(update_fields=["blocked_until", "throttled_count", "updated_at"])


def budget_snapshot(key: str, limits: Limits) -> dict:
    """What is left, for `sync status` and the admin (read without the lock)."""
    if _use_redis():
        return governor_redis.snapshot(key, limits)
    budget = RateBudget.objects.filter(key=key).first()
    now = _now()
    if budget is None:
        return {
            "window_left": limits.per_window,
            "day_left": limits.per_day,
            "in_flight": 0,
            "throttled": 0,
        }
    _prune(budget, limits, now)
    return {
        "window_left": max(0, limits.per_window - len(budget.recent)),
        "day_left": max(0, limits.per_day - budget.day_count),
        "day_used": budget.day_count,
        "in_flight": len(budget.leases),
        "throttled": budget.throttled_count,
        "blocked_until": budget.blocked_until.isoformat() if budget.blocked_until else None,
    }


def _locked_budget(key: str) -> RateBudget:
    budget = RateBudget.objects.select_for_update().filter(key=key).first()
    if budget is None:
        # ON CONFLICT DO NOTHING: two processes creating the row at once both go on.
        RateBudget.objects.bulk_create([RateBudget(key=key)], ignore_conflicts=True)
        budget = RateBudget.objects.select_for_update().get(key=key)
    return budget


def _prune(budget: RateBudget, limits: Limits, now: float) -> None:
    horizon = now - limits.window_s - limits.margin_s
    budget.recent = [t for t in budget.recent if t > horizon]
    budget.leases = {k: v for k, v in budget.leases.items() if v > now}
    if budget.day_started_at is None or budget.day_started_at.timestamp() + limits.day_s <= now:
        budget.day_started_at = datetime.fromtimestamp(now, tz=UTC)
        budget.day_count = 0
    if budget.blocked_until and budget.blocked_until.timestamp() <= now:
        budget.blocked_until = None


__all__ = ["Limits", "acquire", "budget_snapshot", "limits_for", "penalise", "release"]
