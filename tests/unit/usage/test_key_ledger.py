"""The key ledger adds write-behind: requests merge into what is pending, one write flushes it."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest

from wrapper.usage.key_ledger import KeyLedger
from wrapper.usage.store import Addition, MemoryUsageStore

pytestmark = pytest.mark.anyio

NOON = 1_764_676_800.0  # 2025-12-02T12:00:00Z


class CountingStore(MemoryUsageStore):
    """The memory store, counting batch writes; it can fail the next ones on purpose."""

    def __init__(self) -> None:
        super().__init__(clock=lambda: NOON)
        self.writes: list[list[Addition]] = []
        self.failures = 0
        self.written = anyio.Event()

    async def add_many(self, additions: Sequence[Addition]) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.writes.append(list(additions))
        await super().add_many(additions)
        self.written.set()


async def test_many_requests_share_one_write_and_a_read_sees_them() -> None:
    store = CountingStore()
    ledger = KeyLedger(store, clock=lambda: NOON)
    for _ in range(5):
        ledger.add_request("alice")
    ledger.add_turn("alice", input_tokens=10, output_tokens=3, cost_usd=0.25)
    ledger.add_request("bob")
    assert store.writes == []
    spend = await ledger.spend("alice")
    assert len(store.writes) == 1
    assert sorted(key for key, _, _ in store.writes[0]) == [
        "key:alice:day:2025-12-02",
        "key:alice:month:2025-12",
        "key:alice:total",
        "key:bob:day:2025-12-02",
        "key:bob:month:2025-12",
        "key:bob:total",
    ]
    for period in (spend.total, spend.today, spend.this_month):
        assert (period.requests, period.tokens, period.cost_usd) == (5, 13, 0.25)
    ttls = {key: ttl for key, _, ttl in store.writes[0]}
    assert ttls["key:alice:total"] is None
    assert ttls["key:alice:day:2025-12-02"] is not None
    await ledger.flush()
    assert len(store.writes) == 1  # nothing pending, nothing written


async def test_a_failed_write_keeps_its_amounts_for_the_next() -> None:
    store = CountingStore()
    ledger = KeyLedger(store, clock=lambda: NOON)
    ledger.add_request("alice")
    store.failures = 1
    await ledger.flush()
    ledger.add_request("alice")
    assert (await ledger.spend("alice")).total.requests == 2


async def test_forget_drops_what_is_pending_too() -> None:
    store = CountingStore()
    ledger = KeyLedger(store, clock=lambda: NOON)
    ledger.add_request("alice")
    await ledger.flush()
    ledger.add_request("alice")
    await ledger.forget("alice")
    assert (await ledger.spend("alice")).total.requests == 0


async def test_the_flusher_writes_without_being_asked() -> None:
    store = CountingStore()
    ledger = KeyLedger(store, clock=lambda: NOON, flush_interval_s=0)
    async with anyio.create_task_group() as group:
        group.start_soon(ledger.run_flusher)
        await anyio.wait_all_tasks_blocked()
        ledger.add_request("alice")
        with anyio.fail_after(5):
            await store.written.wait()
        group.cancel_scope.cancel()
    assert (await store.counters(["key:alice:total"])) == [{"requests": 1.0}]
