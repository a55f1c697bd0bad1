"""The rate governor on Redis (used when REDIS_URL is set): the same sliding log, leases, daily
count and Retry-After block as the database budget, each claim one atomic Lua script, timed by
the Redis server's clock so that every host agrees."""

from functools import lru_cache

import redis
from django.conf import settings

PREFIX = "syncdesk:governor:"

# KEYS: recent, leases, day, blocked. ARGV: horizon, cap, concurrent (0 = none), per_day,
# day_s, lease_id, lease_s, poll_s, ttl_s. Returns {status, wait}: 1 granted, 0 wait, -1 the
# daily quota is used up (wait = seconds until it resets).
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local horizon = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local concurrent = tonumber(ARGV[3])
local per_day = tonumber(ARGV[4])
local day_s = tonumber(ARGV[5])
local ttl = tonumber(ARGV[9])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - horizon)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local day_start = tonumber(redis.call('HGET', KEYS[3], 'start') or '0')
if day_start == 0 or day_start + day_s <= now then
  redis.call('HSET', KEYS[3], 'start', tostring(now), 'count', 0)
  day_start = now
end
redis.call('EXPIRE', KEYS[3], math.ceil(day_s) + 60)
local count = tonumber(redis.call('HGET', KEYS[3], 'count') or '0')
if count >= per_day then
  return {-1, tostring(day_start + day_s - now)}
end
local wait = 0
local blocked = tonumber(redis.call('GET', KEYS[4]) or '0')
if blocked > now then wait = blocked - now end
local n = redis.call('ZCARD', KEYS[1])
if n >= cap then
  local oldest = redis.call('ZRANGE', KEYS[1], n - cap, n - cap, 'WITHSCORES')
  local free_at = tonumber(oldest[2]) + horizon
  if free_at - now > wait then wait = free_at - now end
end
if concurrent > 0 and redis.call('ZCARD', KEYS[2]) >= concurrent then
  local poll = tonumber(ARGV[8])
  if poll > wait then wait = poll end
end
if wait > 0 then
  return {0, tostring(wait)}
end
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[7]), ARGV[6])
redis.call('HINCRBY', KEYS[3], 'count', 1)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return {1, '0'}
"""

PENALISE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'EX', math.ceil(tonumber(ARGV[1])) + 1)
end
redis.call('INCR', KEYS[2])
return 1
"""


@lru_cache(maxsize=2)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def keys(key: str) -> list[str]:
    base = f"{PREFIX}{key}:"
    return [base + "recent", base + "leases", base + "day", base + "blocked", base + "throttled"]


def try_acquire(key: str, limits, priority: int, lease_id: str) -> tuple[int, float]:
    recent, leases, day, blocked, _ = keys(key)
    status, wait = client().eval(
        ACQUIRE,
        4,
        recent,
        leases,
        day,
        blocked,
        limits.window_s + limits.margin_s,
        limits.cap(priority),
        limits.concurrent or 0,
        limits.per_day,
        limits.day_s,
        lease_id,
        limits.lease_s,
        min(0.02, limits.window_s / 100),
        int(limits.window_s + limits.lease_s) + 60,
    )
    return int(status), float(wait)


def release(key: str, lease_id: str) -> None:
    client().zrem(keys(key)[1], lease_id)


def penalise(key: str, wait_s: float) -> None:
    *_, blocked, throttled = keys(key)
    client().eval(PENALISE, 2, blocked, throttled, wait_s)


def snapshot(key: str, limits) -> dict:
    recent, leases, day, _blocked, throttled = keys(key)
    redis_client = client()
    seconds, micros = redis_client.time()
    now = seconds + micros / 1_000_000
    in_window = redis_client.zcount(recent, now - limits.window_s - limits.margin_s, "+inf")
    day_used = int(redis_client.hget(day, "count") or 0)
    return {
        "window_left": max(0, limits.per_window - in_window),
        "day_left": max(0, limits.per_day - day_used),
        "day_used": day_used,
        "in_flight": redis_client.zcount(leases, now, "+inf"),
        "throttled": int(redis_client.get(throttled) or 0),
        "backend": "redis",
    }
