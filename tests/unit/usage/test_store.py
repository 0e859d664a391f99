"""The usage store's three homes behave alike: counters that add and expire, readings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import coredis
import pytest

from tests.redis_server import RedisServer
from wrapper.usage.redis_store import RedisUsageStore
from wrapper.usage.sqlite_store import SqliteUsageStore
from wrapper.usage.store import MemoryUsageStore, UsageStore

pytestmark = pytest.mark.anyio


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
async def local_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[UsageStore, _Clock]:
    clock = _Clock()
    if request.param == "memory":
        return MemoryUsageStore(clock), clock
    store = SqliteUsageStore(tmp_path / "usage.sqlite3", clock)
    await store.open()
    return store, clock


async def test_counters_add_up_and_expire(local_store: tuple[UsageStore, _Clock]) -> None:
    store, clock = local_store
    assert await store.add("k", {"requests": 1, "cost_usd": 0.5}, 60) == {
        "requests": 1.0,
        "cost_usd": 0.5,
    }
    assert (await store.add("k", {"requests": 1}, 60))["requests"] == 2.0
    assert await store.counters(["k", "never"]) == [{"requests": 2.0, "cost_usd": 0.5}, {}]
    clock.now += 61
    assert await store.counters(["k"]) == [{}]
    assert await store.add("k", {"requests": 1}, 60) == {"requests": 1.0}


async def test_counters_without_a_ttl_stay(local_store: tuple[UsageStore, _Clock]) -> None:
    store, clock = local_store
    await store.add("total", {"requests": 3}, None)
    clock.now += 10 * 365 * 86400
    assert await store.counters(["total"]) == [{"requests": 3.0}]
    await store.delete(["total"])
    assert await store.counters(["total"]) == [{}]


async def test_add_many_adds_each_key_with_its_own_expiry(
    local_store: tuple[UsageStore, _Clock],
) -> None:
    store, clock = local_store
    await store.add("day", {"requests": 4}, None)
    await store.add_many(
        [("total", {"requests": 1, "cost_usd": 0.5}, None), ("day", {"requests": 1}, 60)]
    )
    await store.add_many([])
    assert await store.counters(["total", "day"]) == [
        {"requests": 1.0, "cost_usd": 0.5},
        {"requests": 5.0},
    ]
    clock.now += 61
    assert await store.counters(["total", "day"]) == [{"requests": 1.0, "cost_usd": 0.5}, {}]


async def test_readings_are_replaced_by_name(local_store: tuple[UsageStore, _Clock]) -> None:
    store, _ = local_store
    await store.put_reading("plan", "five_hour", b"a")
    await store.put_reading("plan", "five_hour", b"b")
    await store.put_reading("plan", "seven_day", b"c")
    assert await store.readings("plan") == {"five_hour": b"b", "seven_day": b"c"}
    assert await store.readings("other") == {}


async def test_sqlite_usage_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    first = SqliteUsageStore(path)
    await first.open()
    await first.add("key:alice:total", {"requests": 2}, None)
    again = SqliteUsageStore(path)
    await again.open()
    assert await again.counters(["key:alice:total"]) == [{"requests": 2.0}]


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[coredis.Redis[bytes]]:
    client: coredis.Redis[bytes] = coredis.Redis.from_url(redis_server.url)
    async with client:
        yield client


async def test_redis_replicas_share_counters_and_readings(
    redis_client: coredis.Redis[bytes],
) -> None:
    prefix = f"usage-{uuid.uuid4().hex}"
    one = RedisUsageStore(redis_client, prefix=prefix)
    two = RedisUsageStore(redis_client, prefix=prefix)
    await one.add("k", {"requests": 1, "cost_usd": 0.25}, 60)
    assert await two.add("k", {"requests": 1}, 60) == {"requests": 2.0, "cost_usd": 0.25}
    assert 0 < await redis_client.pttl(f"{prefix}:usage:k") <= 60_000
    await two.add("total", {"requests": 1}, None)
    assert await redis_client.pttl(f"{prefix}:usage:total") == -1
    await one.put_reading("plan", "five_hour", b'{"x":1}')
    assert await two.readings("plan") == {"five_hour": b'{"x":1}'}
    await two.delete(["k"])
    assert await one.counters(["k", "total"]) == [{}, {"requests": 1.0}]
    await one.add_many([("total", {"requests": 2}, None), ("k", {"requests": 1}, 60)])
    assert await two.counters(["k", "total"]) == [{"requests": 1.0}, {"requests": 3.0}]
    assert 0 < await redis_client.pttl(f"{prefix}:usage:k") <= 60_000
