"""The rate governor: sliding window, concurrency leases, priority reserve, Retry-After."""

import os
import time
import uuid

import pytest

from apps.sync.engine import governor
from apps.sync.models import Priority

pytestmark = pytest.mark.django_db
REDIS_TEST_URL = os.environ.get("SYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_TEST_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["database", "redis"])
def k(request, settings):
    """A fresh budget key, on the database budget or on Redis (as with REDIS_URL set)."""
    if request.param == "redis":
        if not _redis_reachable():
            pytest.skip(f"no Redis at {REDIS_TEST_URL}")
        settings.REDIS_URL = REDIS_TEST_URL
    else:
        settings.REDIS_URL = ""
    return f"test:{uuid.uuid4().hex}"


def limits(**overrides):
    base = {
        "per_window": 5,
        "window_s": 0.5,
        "concurrent": 2,
        "per_day": 1000,
        "day_s": 100.0,
        "lease_s": 5.0,
        "priority_reserve": 0.4,
    }
    return governor.Limits(**{**base, **overrides})


def test_no_window_ever_holds_more_than_the_limit(k):
    lim = limits(concurrent=None)
    started = []
    for _ in range(12):
        lease = governor.acquire(k, lim, priority=Priority.USER)
        started.append(time.time())
        governor.release(k, lease)
    for i in range(len(started) - lim.per_window):
        assert started[i + lim.per_window] - started[i] >= lim.window_s


def test_bulk_leaves_the_reserve_for_user_calls(k):
    lim = limits(concurrent=None, window_s=30.0)
    for _ in range(3):  # 5 - 40% = 3 for bulk
        governor.release(k, governor.acquire(k, lim, priority=Priority.BULK))
    assert governor.budget_snapshot(k, lim)["window_left"] == 2
    started = time.time()
    governor.release(k, governor.acquire(k, lim, priority=Priority.USER))
    assert time.time() - started < 1


def test_concurrent_slots_are_leased_and_released(k):
    lim = limits(per_window=100)
    a = governor.acquire(k, lim)
    governor.acquire(k, lim)
    assert governor.budget_snapshot(k, lim)["in_flight"] == 2
    governor.release(k, a)
    assert governor.budget_snapshot(k, lim)["in_flight"] == 1


def test_a_lease_of_a_dead_process_expires(k):
    lim = limits(per_window=100, lease_s=0.05)
    governor.acquire(k, lim)
    governor.acquire(k, lim)  # both "crashed": never released
    time.sleep(0.06)
    governor.release(k, governor.acquire(k, lim))  # does not block


def test_retry_after_blocks_everyone(k):
    lim = limits(per_window=100)
    governor.penalise(k, 0.3, lim)
    started = time.time()
    governor.release(k, governor.acquire(k, lim))
    assert time.time() - started >= 0.25
    assert governor.budget_snapshot(k, lim)["throttled"] == 1


def test_daily_quota_is_refused_not_waited(k):
    lim = limits(per_window=100, per_day=2)
    governor.acquire(k, lim)
    governor.acquire(k, lim)
    with pytest.raises(governor.RateLimited):
        governor.acquire(k, lim)


def test_a_call_is_checked_once_admitted_and_gives_its_slot_back_if_refused(k):
    lim = limits(per_window=100)
    checked = []
    governor.release(k, governor.acquire(k, lim, admitted=checked.append))
    assert checked == [False]  # admitted at once
    governor.penalise(k, 0.1, lim)

    def refuse(waited):
        checked.append(waited)
        raise RuntimeError("the caller's lease went to another worker")

    with pytest.raises(RuntimeError):
        governor.acquire(k, lim, admitted=refuse)
    assert checked == [False, True]  # told it was held back
    assert governor.budget_snapshot(k, lim)["in_flight"] == 0  # the slot was given back
