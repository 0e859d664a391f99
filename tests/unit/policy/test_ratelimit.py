"""The sliding-window limiter: exact waits, groups, headers, fail-open, and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import coredis
import pytest

from tests.redis_server import RedisServer
from wrapper.config import load_settings
from wrapper.errors import RateLimitedError
from wrapper.policy.ratelimit import (
    MemoryRateLimitStore,
    RateDecision,
    RateLimiter,
    RedisRateLimitStore,
    group_limits,
)

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_allows_the_limit_then_refuses_with_the_exact_wait() -> None:
    clock = Clock()
    store = MemoryRateLimitStore(clock)
    first = await store.hit("k", 3, 60)
    assert first == RateDecision(allowed=True, limit=3, remaining=2, reset_after=60.0)
    clock.now += 10
    assert (await store.hit("k", 3, 60)).remaining == 1
    clock.now += 5
    assert (await store.hit("k", 3, 60)).remaining == 0
    clock.now += 1
    refused = await store.hit("k", 3, 60)
    assert not refused.allowed
    assert refused.remaining == 0
    # The first request (t=1000) leaves the window at t=1060; now is 1016.
    assert refused.reset_after == pytest.approx(44.0)


async def test_the_window_slides_one_request_at_a_time() -> None:
    clock = Clock()
    store = MemoryRateLimitStore(clock)
    for step in range(2):
        clock.now = 1000.0 + step * 30
        assert (await store.hit("k", 2, 60)).allowed
    clock.now = 1059.9
    assert not (await store.hit("k", 2, 60)).allowed
    clock.now = 1060.0  # the first left the window; the second (t=1030) is still in it
    decision = await store.hit("k", 2, 60)
    assert decision.allowed
    assert decision.remaining == 0
    assert decision.reset_after == pytest.approx(30.0)
    assert not (await store.hit("k", 2, 60)).allowed


async def test_refused_requests_are_not_counted() -> None:
    clock = Clock()
    store = MemoryRateLimitStore(clock)
    assert (await store.hit("k", 1, 60)).allowed
    for _ in range(5):
        clock.now += 1
        assert not (await store.hit("k", 1, 60)).allowed
    clock.now = 1060.0
    assert (await store.hit("k", 1, 60)).allowed


async def test_keys_are_independent_and_idle_keys_are_forgotten() -> None:
    clock = Clock()
    store = MemoryRateLimitStore(clock)
    assert (await store.hit("a", 1, 60)).allowed
    assert (await store.hit("b", 1, 60)).allowed
    assert not (await store.hit("a", 1, 60)).allowed
    clock.now += 61
    store._sweep(clock.now)
    assert len(store) == 0


def limiter(clock: Clock, **limits: int) -> RateLimiter:
    values = {"general": 3, "chat": 2, "health": 0} | limits
    return RateLimiter(MemoryRateLimitStore(clock), values)


async def test_limiter_headers_and_the_429() -> None:
    clock = Clock()
    rejected: list[str] = []
    limits = {"general": 3, "chat": 2}
    lim = RateLimiter(MemoryRateLimitStore(clock), limits, on_reject=rejected.append)
    assert await lim.check("chat", "1.2.3.4") == [
        ("x-ratelimit-limit", "2"),
        ("x-ratelimit-remaining", "1"),
        ("x-ratelimit-reset", "60"),
    ]
    clock.now += 20.5
    await lim.check("chat", "1.2.3.4")
    with pytest.raises(RateLimitedError) as caught:
        await lim.check("chat", "1.2.3.4")
    error = caught.value
    assert error.status == 429
    assert error.retry_after == pytest.approx(39.5)
    headers = dict(error.response_headers())
    assert headers["retry-after"] == "40"
    assert headers["x-ratelimit-limit"] == "2"
    assert headers["x-ratelimit-remaining"] == "0"
    assert headers["x-ratelimit-reset"] == "40"
    assert rejected == ["chat"]
    # Another client, and another group of the same client, have their own counters.
    assert await lim.check("chat", "5.6.7.8")
    assert await lim.check("general", "1.2.3.4")


async def test_unknown_groups_share_general_and_zero_means_unlimited() -> None:
    clock = Clock()
    lim = limiter(clock)
    for _ in range(3):
        await lim.check("models", "c")
    with pytest.raises(RateLimitedError):
        await lim.check("cache", "c")  # same "general" bucket
    for _ in range(10):
        assert await lim.check("health", "c") == []


async def test_disabled_limiter_counts_nothing() -> None:
    lim = RateLimiter(MemoryRateLimitStore(Clock()), {"general": 1}, enabled=False)
    for _ in range(5):
        assert await lim.check("general", "c") == []


class BrokenStore:
    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        raise ConnectionError("store down")


async def test_a_failing_store_lets_requests_through() -> None:
    lim = RateLimiter(BrokenStore(), {"general": 1})
    assert await lim.check("general", "c") == []
    assert await lim.check("general", "c") == []


def test_group_limits_come_from_the_existing_variables() -> None:
    assert group_limits(load_settings({}).rate_limits) == {
        "chat": 10,
        "debug": 2,
        "auth": 10,
        "sessions": 15,
        "health": 30,
        "general": 30,
    }
    env = {"RATE_LIMIT_CHAT_PER_MINUTE": "3", "RATE_LIMIT_PER_MINUTE": "0"}
    settings = load_settings(env).rate_limits
    assert group_limits(settings)["chat"] == 3
    assert group_limits(settings)["general"] == 0
    assert load_settings({"RATE_LIMIT_ENABLED": "false"}).rate_limits.enabled is False


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[coredis.Redis[bytes]]:
    client: coredis.Redis[bytes] = coredis.Redis.from_url(redis_server.url)
    async with client:
        yield client


async def test_redis_store_shares_counters_between_replicas(
    redis_client: coredis.Redis[bytes], anyio_backend: str
) -> None:
    prefix = f"test-{anyio_backend}-{id(redis_client)}"
    replica_a = RedisRateLimitStore(redis_client, prefix=prefix)
    replica_b = RedisRateLimitStore(redis_client, prefix=prefix)
    assert (await replica_a.hit("chat:1.2.3.4", 2, 60)).remaining == 1
    assert (await replica_b.hit("chat:1.2.3.4", 2, 60)).remaining == 0
    refused = await replica_a.hit("chat:1.2.3.4", 2, 60)
    assert not refused.allowed
    assert 0 < refused.reset_after <= 60
    assert (await replica_b.hit("chat:5.6.7.8", 2, 60)).allowed
    ttl = await redis_client.pttl(f"{prefix}:ratelimit:chat:1.2.3.4")
    assert 0 < ttl <= 60_000


async def test_redis_store_slides_its_window(redis_client: coredis.Redis[bytes]) -> None:
    store = RedisRateLimitStore(redis_client, prefix=f"slide-{id(redis_client)}")
    # A 200 ms window: the refused hit's wait is the real one, and after it passes
    # (polled with a deadline, not slept) the next hit is allowed again.
    assert (await store.hit("k", 1, 0.2)).allowed
    refused = await store.hit("k", 1, 0.2)
    assert not refused.allowed
    assert 0 < refused.reset_after <= 0.2
    with anyio.fail_after(5):
        while not (await store.hit("k", 1, 0.2)).allowed:
            await anyio.sleep(0.02)
