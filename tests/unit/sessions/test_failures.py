"""When the store fails: a turn with a missing transcript batch is never committed,
and store errors reach clients as 503, not as internal errors."""

from __future__ import annotations

import pytest

from tests.unit.sessions.backends import FakeClock
from wrapper.errors import BackendUnavailableError, NotFoundError
from wrapper.sessions.memory_index import MemorySessionIndex
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore
from wrapper.sessions.sdk_types import SessionKey, SessionStoreEntry
from wrapper.sessions.service import SessionManager

pytestmark = pytest.mark.anyio


class FlakyStore(MemoryTranscriptStore):
    """A memory store whose appends fail while ``failing`` is set (a fake store outage)."""

    errors: tuple[type[Exception], ...] = (OSError,)

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        if self.failing:
            raise OSError("disk full")
        await super().append(key, entries)

    async def count(self, key: SessionKey) -> int:
        if self.failing:
            raise OSError("disk full")
        return await super().count(key)


def manager(store: FlakyStore) -> SessionManager:
    return SessionManager(
        index=MemorySessionIndex(), transcripts=store, ttl_s=60, hold_s=60, clock=FakeClock()
    )


async def test_a_dropped_batch_makes_the_commit_fail_and_the_turn_roll_back() -> None:
    store = FlakyStore()
    sessions = manager(store)
    async with sessions.lease("s1") as lease:
        key: SessionKey = {"project_key": "p", "session_id": lease.claude_session_id}
        store.failing = True
        for _ in range(3):  # the SDK tries a batch three times, then drops it
            with pytest.raises(OSError, match="disk full"):
                await lease.store.append(key, [{"type": "user", "uuid": "u1"}])
        store.failing = False
        await lease.store.append(key, [{"type": "assistant", "uuid": "u2"}])
        with pytest.raises(BackendUnavailableError) as failed:
            await lease.commit()
    assert failed.value.status == 503
    assert failed.value.code == "session_store_failed"
    with pytest.raises(NotFoundError):
        await sessions.get("s1")


async def test_a_batch_that_succeeds_on_retry_is_durable() -> None:
    store = FlakyStore()
    sessions = manager(store)
    async with sessions.lease("s1") as lease:
        key: SessionKey = {"project_key": "p", "session_id": lease.claude_session_id}
        batch: list[SessionStoreEntry] = [{"type": "user", "uuid": "u1"}]
        store.failing = True
        with pytest.raises(OSError, match="disk full"):
            await lease.store.append(key, batch)
        store.failing = False
        await lease.store.append(key, batch)
        await lease.commit()
    assert (await sessions.get("s1")).turn_count == 1


async def test_store_errors_become_503_for_clients() -> None:
    store = FlakyStore()
    sessions = manager(store)
    async with sessions.lease("s1") as lease:
        await lease.commit()
    store.failing = True
    with pytest.raises(BackendUnavailableError) as unavailable:
        async with sessions.lease("s1"):
            pytest.fail("the lease needs the store")
    assert unavailable.value.status == 503
    assert unavailable.value.code == "session_store_unavailable"
    assert unavailable.value.__cause__ is not None


async def test_appends_after_the_lease_ended_are_refused() -> None:
    store = FlakyStore()
    sessions = manager(store)
    async with sessions.lease("s1") as lease:
        await lease.commit()
    key: SessionKey = {"project_key": "p", "session_id": lease.claude_session_id}
    with pytest.raises(RuntimeError, match="lease has ended"):
        await lease.store.append(key, [{"type": "user", "uuid": "late"}])
