"""The session manager over every backend: leases, turns, rollback, expiry, delete.

Two managers opened on one store stand for two replicas. Expiry is driven by an
injected clock; nothing here sleeps.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import cast

import anyio
import pytest

from tests.unit.sessions.backends import FakeClock, manager_for, shared_store
from wrapper.errors import ConflictError, InvalidRequestError, NotFoundError
from wrapper.sessions.sdk_types import SessionStoreEntry, main_key
from wrapper.sessions.service import SessionManager

pytestmark = pytest.mark.anyio


def sid() -> str:
    return f"client-{uuid.uuid4().hex[:8]}"


def entries(*names: str) -> list[SessionStoreEntry]:
    # The SDK's TypedDict names only the keys stores read; real entries carry more, like "text".
    return [
        cast(SessionStoreEntry, {"type": "user", "uuid": str(uuid.uuid4()), "text": name})
        for name in names
    ]


CLI_KEY = {"project_key": "-tmp-cwd-of-this-replica", "session_id": ""}


async def run_turn(
    manager: SessionManager, session_id: str, *texts: str, model: str = "m1"
) -> None:
    async with manager.lease(session_id, model=model) as lease:
        key = main_key("-any-cwd", lease.claude_session_id)
        await lease.store.append(key, entries(*texts))
        await lease.commit(model=model)


async def texts(manager: SessionManager, session_id: str) -> list[str]:
    record = await manager.get(session_id)
    loaded = await manager.transcripts.load(
        {"project_key": manager.project_key, "session_id": record.claude_session_id}
    )
    return [str(entry.get("text")) for entry in loaded or []]


async def test_a_first_turn_creates_the_session_and_later_turns_resume_it(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        manager = manager_for(connect(), clock)
        session = sid()
        async with manager.lease(session, model="m1") as lease:
            assert lease.is_new
            uuid.UUID(lease.claude_session_id)
            first_claude_id = lease.claude_session_id
            key = main_key("/some/cwd", first_claude_id)
            await lease.store.append(key, entries("hello"))
            record = await lease.commit(model="m1")
            assert record.turn_count == 1
        created = clock.now
        clock.advance(30)
        async with manager.lease(session, model="m2") as lease:
            assert not lease.is_new
            assert lease.claude_session_id == first_claude_id
            key = main_key("/another/cwd", first_claude_id)
            await lease.store.append(key, entries("again"))
            await lease.commit(model="m2")
        record = await manager.get(session)
        assert record.turn_count == 2
        assert record.model == "m2"
        assert record.created_at == pytest.approx(created, abs=0.01)
        assert record.last_active == pytest.approx(clock.now, abs=0.01)
        assert record.expires_at == pytest.approx(clock.now + 3600, abs=0.01)
        assert not record.leased
        assert await texts(manager, session) == ["hello", "again"]
        listed = await manager.list_sessions()
        assert [r.session_id for r in listed] == [session]


async def test_a_second_replica_gets_409_while_a_turn_runs(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        replica_a, replica_b = manager_for(connect(), clock), manager_for(connect(), clock)
        session = sid()
        async with replica_a.lease(session) as lease:
            with pytest.raises(ConflictError) as busy:
                async with replica_b.lease(session):
                    pytest.fail("two turns held one session")
            assert busy.value.status == 409
            assert busy.value.code == "session_busy"
            assert (await replica_b.get(session)).leased
            with pytest.raises(ConflictError):
                await replica_b.delete(session)
            await lease.commit()
        async with replica_b.lease(session) as lease:
            assert not lease.is_new
            await lease.commit()
        assert (await replica_a.get(session)).turn_count == 2


async def test_concurrent_turns_on_one_session_never_interleave(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        managers = [manager_for(connect(), clock)] * 3 + [manager_for(connect(), clock)] * 3
        session = sid()
        outcomes: list[str] = []
        inside = 0

        async def turn(manager: SessionManager, n: int) -> None:
            nonlocal inside
            try:
                async with manager.lease(session) as lease:
                    inside += 1
                    assert inside == 1
                    await anyio.lowlevel.checkpoint()
                    key = main_key("p", lease.claude_session_id)
                    await lease.store.append(key, entries(f"t{n}"))
                    await lease.commit()
                    inside -= 1
                    outcomes.append("ok")
            except ConflictError:
                outcomes.append("409")

        async with anyio.create_task_group() as group:
            for n, manager in enumerate(managers):
                group.start_soon(turn, manager, n)
        assert outcomes.count("ok") >= 1
        assert len(outcomes) == 6
        record = await managers[0].get(session)
        assert record.turn_count == outcomes.count("ok")
        assert len(await texts(managers[0], session)) == outcomes.count("ok")


async def test_a_failed_first_turn_leaves_no_session(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        manager = manager_for(connect(), clock)
        session = sid()
        claude_id = ""

        async def failing_turn() -> None:
            nonlocal claude_id
            async with manager.lease(session) as lease:
                claude_id = lease.claude_session_id
                key = main_key("p", claude_id)
                await lease.store.append(key, entries("lost"))
                raise RuntimeError("turn failed")

        with pytest.raises(RuntimeError, match="turn failed"):
            await failing_turn()
        with pytest.raises(NotFoundError):
            await manager.get(session)
        assert (
            await manager.transcripts.load(
                {"project_key": manager.project_key, "session_id": claude_id}
            )
            is None
        )
        async with manager.lease(session) as lease:
            assert lease.is_new
            assert lease.claude_session_id != claude_id


async def test_a_failed_later_turn_is_rolled_back(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        manager = manager_for(connect(), clock)
        session = sid()
        await run_turn(manager, session, "one", "reply one")
        replayed = entries("two")
        async with manager.lease(session) as lease:
            key = main_key("p", lease.claude_session_id)
            await lease.store.append(key, [*replayed, *entries("partial reply")])
            # no commit: the client never got this turn
        assert await texts(manager, session) == ["one", "reply one"]
        assert (await manager.get(session)).turn_count == 1
        async with manager.lease(session) as lease:
            key = main_key("p", lease.claude_session_id)
            await lease.store.append(key, replayed)  # same uuids again
            await lease.commit()
        assert await texts(manager, session) == ["one", "reply one", "two"]


async def test_sessions_expire_after_the_ttl_and_the_ttl_slides_on_use(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url, ttl_s=100) as connect:
        replica_a = manager_for(connect(), clock, ttl_s=100)
        replica_b = manager_for(connect(), clock, ttl_s=100)
        session = sid()
        await run_turn(replica_a, session, "one")
        old_claude_id = (await replica_a.get(session)).claude_session_id
        clock.advance(90)
        await run_turn(replica_b, session, "two")  # a use: expiry slides
        clock.advance(90)
        assert (await replica_a.get(session)).turn_count == 2
        clock.advance(11)
        for replica in (replica_a, replica_b):
            with pytest.raises(NotFoundError):
                await replica.get(session)
            assert await replica.list_sessions() == []
            assert (await replica.stats()).active_sessions == 0
        async with replica_b.lease(session) as lease:
            assert lease.is_new
            assert lease.claude_session_id != old_claude_id
            await lease.commit()
        assert await texts(replica_a, session) == []
        old = main_key(replica_a.project_key, old_claude_id)
        assert await replica_a.transcripts.load(old) is None


async def test_the_sweep_deletes_expired_sessions_and_their_transcripts(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url, ttl_s=100) as connect:
        manager = manager_for(connect(), clock, ttl_s=100)
        keep, drop = sid(), sid()
        await run_turn(manager, drop, "old")
        clock.advance(50)
        await run_turn(manager, keep, "new")
        dropped = (await manager.get(drop)).claude_session_id
        clock.advance(51)
        assert (await manager.stats()).active_sessions == 1
        swept = await manager.sweep()
        if kind != "redis":  # Redis expires records and transcripts by itself
            assert swept == 1
            assert (await manager.stats()).expired_sessions == 0
            key = main_key(manager.project_key, dropped)
            assert await manager.transcripts.load(key) is None
        assert [r.session_id for r in await manager.list_sessions()] == [keep]
        assert await texts(manager, keep) == ["new"]


async def test_delete_removes_the_session_and_its_transcript_for_every_replica(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        replica_a, replica_b = manager_for(connect(), clock), manager_for(connect(), clock)
        session, other = sid(), sid()
        await run_turn(replica_a, session, "secret")
        await run_turn(replica_a, other, "kept")
        claude_id = (await replica_a.get(session)).claude_session_id
        deleted = await replica_b.delete(session)
        assert deleted.session_id == session
        with pytest.raises(NotFoundError) as missing:
            await replica_a.get(session)
        assert missing.value.status == 404
        with pytest.raises(NotFoundError):
            await replica_a.delete(session)
        key = main_key(replica_a.project_key, claude_id)
        assert await replica_a.transcripts.load(key) is None
        assert await texts(replica_a, other) == ["kept"]
        async with replica_a.lease(session) as lease:
            assert lease.is_new


async def test_an_expired_lease_can_be_taken_over_and_fences_its_old_holder(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    short = 0.05 if kind == "redis" else 60  # Redis expires leases on its own clock
    async with shared_store(kind, tmp_path, redis_url) as connect:
        replica_a = manager_for(connect(), clock)
        replica_b = manager_for(connect(), clock)
        session = sid()
        await run_turn(replica_a, session, "one")
        async with replica_a.lease(session, hold_s=short) as stale:
            clock.advance(61)
            taken = None
            with anyio.fail_after(10):
                while taken is None:
                    try:
                        async with replica_b.lease(session) as lease:
                            key = main_key("p", lease.claude_session_id)
                            await lease.store.append(key, entries("two"))
                            await lease.commit()
                            taken = lease
                    except ConflictError:
                        await anyio.sleep(0.01)
            with pytest.raises(ConflictError) as lost:
                await stale.commit()
            assert lost.value.code == "session_lease_lost"
        assert await texts(replica_b, session) == ["one", "two"]  # the stale turn cut nothing
        assert (await replica_b.get(session)).turn_count == 2


async def test_session_ids_are_validated(kind: str, tmp_path: Path, redis_url: str | None) -> None:
    async with shared_store(kind, tmp_path, redis_url) as connect:
        manager = manager_for(connect(), FakeClock())
        for bad in ("", "x" * 129, "line\nbreak", "tab\there"):
            with pytest.raises(InvalidRequestError) as invalid:
                async with manager.lease(bad):
                    pass
            assert invalid.value.status == 400
            with pytest.raises(InvalidRequestError):
                await manager.get(bad)
        for good in ("x" * 128, "user 42 / conv:7", "ünïcødé-✓"):
            async with manager.lease(good) as lease:
                await lease.commit()
            assert (await manager.get(good)).turn_count == 1


async def test_stats_count_sessions_turns_and_busy_ones(
    kind: str, tmp_path: Path, redis_url: str | None
) -> None:
    clock = FakeClock()
    async with shared_store(kind, tmp_path, redis_url) as connect:
        manager = manager_for(connect(), clock)
        one, two = sid(), sid()
        await run_turn(manager, one, "a")
        await run_turn(manager, one, "b")
        await run_turn(manager, two, "c")
        async with manager.lease(two):
            stats = await manager.stats()
            assert stats.active_sessions == 2
            assert stats.busy_sessions == 1
            assert stats.total_turns == 3
        assert (await manager.stats()).busy_sessions == 0
