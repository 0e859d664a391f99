"""Session turns on the pooled backend over fake processes: kept sessions on shared warm
processes, mirrored ones on their pinned process, and session turns cancelled at every
await (no process stays busy, no slot is kept)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
import msgspec
import pytest

from tests.fakes.pool_process import FakeProcess
from tests.unit.backend.pool.running import Running, running, turn
from wrapper.backend.admission import Admission
from wrapper.backend.pool import State
from wrapper.backend.pooled import PooledBackend
from wrapper.events import AgentEvent, TextDelta

pytestmark = pytest.mark.anyio


@dataclass
class Record:
    turn_count: int = 0


@dataclass
class Store:
    """A session store view whose appends a test can hold."""

    appended: list[Any] = field(default_factory=list)
    hold: anyio.Event | None = None

    async def append(self, key: Any, entries: list[Any]) -> None:
        if self.hold is not None:
            await self.hold.wait()
        self.appended.append((key, entries))

    async def load(self, key: Any) -> list[Any] | None:
        found = [entry for k, entries in self.appended if k == key for entry in entries]
        return found or None

    def entries(self) -> list[Any]:
        return [entry for _, entries in self.appended for entry in entries]


class Lease:
    def __init__(self, session_id: str, record: Record, store: Store) -> None:
        self.session_id = session_id
        self.claude_session_id = "6f1c1f9e-0000-4000-8000-00000000abcd"
        self.key = ("project", self.claude_session_id)
        self.record = record
        self.is_new = record.turn_count == 0
        self.store = store

    async def commit(self, *, model: str | None = None) -> Record:
        self.record = Record(self.record.turn_count + 1)
        return self.record


class Leaser:
    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.store = Store()

    @asynccontextmanager
    async def lease(self, session_id: str, *, model: str | None = None) -> AsyncIterator[Lease]:
        lease = Lease(session_id, self.records.get(session_id, Record()), self.store)
        yield lease
        self.records[session_id] = lease.record


class Sessions:
    def __init__(self, run: Running) -> None:
        self.run = run
        self.leaser = Leaser()
        self.admission = Admission(3, queue_limit=4, queue_timeout_s=5)
        self.backend = PooledBackend(run.pool, self.admission, timeout_s=5, sessions=self.leaser)

    async def ask(self, text: str, **changes: Any) -> list[AgentEvent]:
        request = msgspec.structs.replace(turn(text), session_id="s1", **changes)
        async with self.backend.open(request) as events:
            return [event async for event in events]

    def settled(self) -> bool:
        return (
            State.BUSY not in self.run.states()
            and self.run.pool.stats()["starting"] == 0
            and self.admission.running == 0
        )


def reply(events: list[AgentEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def mirrored() -> dict[str, Any]:
    """What makes a session turn go the mirrored way: the client does not receive
    exactly what the model produced."""
    return {"stop_sequences": ("STOP",)}


def said(entries: list[Any]) -> list[tuple[str, str]]:
    return [(e["type"], e["message"]["content"][0]["text"]) for e in entries]


async def test_a_kept_session_runs_on_a_warm_process_and_its_turns_are_written() -> None:
    async with running() as run:
        sessions = Sessions(run)
        assert reply(await sessions.ask("one")) == "reply 1"
        [member] = run.members
        assert member.state is State.HELD
        assert member.link is None  # shared, not pinned: nothing mirrors to the store
        assert reply(await sessions.ask("two")) == "reply 2"
        assert run.members == [member]
        assert run.processes.spawned == []
        entries = sessions.leaser.store.entries()
        assert said(entries) == [
            ("user", "one"),
            ("assistant", "reply 1"),
            ("user", "two"),
            ("assistant", "reply 2"),
        ]
        parents = [e["parentUuid"] for e in entries]
        assert parents == [None, *[e["uuid"] for e in entries[:-1]]]
        assert run.pool.stats()["kept_session_hits"] == 2
        assert sessions.settled()


async def test_a_kept_session_whose_process_was_reset_is_appended_to_a_clean_one() -> None:
    async with running() as run:
        sessions = Sessions(run)
        await sessions.ask("one")
        [member] = run.members
        run.pool.members.drop_held(member)
        run.pool.releasing.reset_soon(member)
        await run.until(lambda: member.state is State.CLEAN)
        assert reply(await sessions.ask("two")) == "reply 2"
        process = member.process
        assert isinstance(process, FakeProcess)
        assert process.seeded[-1] == [
            ("user", [{"type": "text", "text": "one"}]),
            ("assistant", [{"type": "text", "text": "reply 1"}]),
        ]
        assert said(sessions.leaser.store.entries())[-2:] == [
            ("user", "two"),
            ("assistant", "reply 2"),
        ]
        assert run.processes.spawned == []


async def test_a_mirrored_turn_runs_on_a_process_pinned_to_the_session() -> None:
    async with running() as run:
        sessions = Sessions(run)
        await sessions.ask("one")
        [kept] = run.members
        assert reply(await sessions.ask("two", **mirrored())) == "reply 1"
        [(_, start)] = run.processes.spawned
        assert start is not None  # started on the session, mirrored by the CLI
        pinned = next(m for m in run.members if m.link is not None)
        await run.until(lambda: kept.state is State.CLEAN)  # the kept one was reset
        assert pinned.state is State.HELD
        assert sessions.settled()


async def test_a_stored_session_with_the_clis_own_records_is_resumed_the_mirrored_way() -> None:
    async with running() as run:
        sessions = Sessions(run)
        sessions.leaser.records["s1"] = Record(turn_count=1)
        key = ("project", "6f1c1f9e-0000-4000-8000-00000000abcd")
        await sessions.leaser.store.append(key, [{"type": "summary", "summary": "x"}])
        await sessions.ask("two")
        assert len(run.processes.spawned) == 1


async def test_a_session_stays_on_its_pinned_process() -> None:
    async with running() as run:
        sessions = Sessions(run)
        assert reply(await sessions.ask("one", **mirrored())) == "reply 1"
        assert run.states() == [State.HELD]
        pinned = run.members[0]
        assert pinned.link is not None
        assert reply(await sessions.ask("two", **mirrored())) == "reply 2"
        assert run.members == [pinned]
        assert len(run.processes.spawned) == 1
        assert sessions.settled()


async def test_a_session_turn_cancelled_while_its_process_starts_leaves_nothing_busy() -> None:
    async with running() as run:
        sessions = Sessions(run)
        run.processes.pause("start")
        async with anyio.create_task_group() as group:
            group.start_soon(partial(sessions.ask, "one", **mirrored()))
            process = await run.processes.reached("start")
            group.cancel_scope.cancel()
        run.processes.resume("start")
        assert sessions.settled()
        assert process.stopped
        assert run.members == []


async def test_a_kept_session_turn_cancelled_while_its_process_starts_keeps_it_as_a_spare() -> None:
    async with running() as run:
        sessions = Sessions(run)
        run.processes.pause("start")
        async with anyio.create_task_group() as group:
            group.start_soon(sessions.ask, "one")
            process = await run.processes.reached("start")
            group.cancel_scope.cancel()
        run.processes.resume("start")
        await run.until(lambda: run.states() == [State.CLEAN])
        assert not process.stopped
        assert sessions.leaser.store.entries() == []
        assert sessions.settled()


@pytest.mark.parametrize("way", ["kept", "mirrored"])
@pytest.mark.parametrize("step", ["send", "next"])
async def test_a_session_turn_cancelled_on_its_process_replaces_it(step: str, way: str) -> None:
    changes = mirrored() if way == "mirrored" else {}
    async with running() as run:
        sessions = Sessions(run)
        await sessions.ask("one", **changes)
        pinned = run.members[0]
        run.processes.pause(step)
        async with anyio.create_task_group() as group:
            group.start_soon(partial(sessions.ask, "two", **changes))
            await run.processes.reached(step)
            group.cancel_scope.cancel()
        run.processes.resume(step)
        await run.until(sessions.settled)
        assert pinned not in run.members
        assert isinstance(pinned.process, FakeProcess)
        await run.until(lambda: pinned.process.exited)
        # The turn was never committed: nothing of it was written.
        assert [e["message"]["content"][0]["text"] for e in sessions.leaser.store.entries()] in (
            [],
            ["one", "reply 1"],
        )


async def test_a_session_turn_cancelled_while_its_link_catches_up_replaces_the_process() -> None:
    async with running() as run:
        sessions = Sessions(run)
        await sessions.ask("one", **mirrored())
        pinned = run.members[0]
        assert pinned.link is not None
        await pinned.link.append("late", ["a late flush"])  # held until the next turn
        sessions.leaser.store.hold = anyio.Event()
        with anyio.move_on_after(0.05):
            await sessions.ask("two", **mirrored())
        assert sessions.settled()
        assert pinned not in run.members
