"""Session turns on the pooled backend over fake processes: the pinned process, and
session turns cancelled at every await (no process stays busy, no slot is kept)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import msgspec
import pytest

from tests.fakes.pool_process import FakeProcess
from tests.unit.backend.pool.running import Running, running, turn
from wrapper.backend.admission import Admission
from wrapper.backend.pool import PooledProcess, State
from wrapper.backend.pooled import PooledBackend
from wrapper.events import AgentEvent, TextDelta

pytestmark = pytest.mark.anyio


FIXED_ID = "6f1c1f9e-0000-4000-8000-00000000abcd"


@dataclass
class Record:
    turn_count: int = 0
    claude_session_id: str | None = None


@dataclass
class Store:
    """A session store view whose appends a test can hold."""

    appended: list[Any] = field(default_factory=list)
    hold: anyio.Event | None = None

    async def append(self, key: Any, entries: list[Any]) -> None:
        if self.hold is not None:
            await self.hold.wait()
        self.appended.append((key, entries))


class Lease:
    def __init__(
        self, session_id: str, record: Record, store: Store, claude_session_id: str | None
    ) -> None:
        self.session_id = session_id
        self.claude_session_id = record.claude_session_id or claude_session_id or FIXED_ID
        record.claude_session_id = self.claude_session_id
        self.key = ("project", self.claude_session_id)
        self.record = record
        self.is_new = record.turn_count == 0
        self.store = store

    async def commit(self, *, model: str | None = None) -> Record:
        self.record = Record(self.record.turn_count + 1, self.claude_session_id)
        return self.record


class Leaser:
    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.store = Store()
        self.proposed: list[str | None] = []

    @asynccontextmanager
    async def lease(
        self, session_id: str, *, model: str | None = None, claude_session_id: str | None = None
    ) -> AsyncIterator[Lease]:
        record = self.records.get(session_id) or Record()
        lease = Lease(session_id, record, self.store, claude_session_id)
        self.proposed.append(claude_session_id)
        yield lease
        if lease.record.turn_count:
            self.records[session_id] = lease.record


class Sessions:
    def __init__(self, run: Running) -> None:
        self.run = run
        self.leaser = Leaser()
        self.admission = Admission(3, queue_limit=4, queue_timeout_s=5)
        self.backend = PooledBackend(run.pool, self.admission, timeout_s=5, sessions=self.leaser)

    async def ask(self, text: str, session_id: str = "s1") -> list[AgentEvent]:
        request = msgspec.structs.replace(turn(text), session_id=session_id)
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


def pinned_to(run: Running, session_id: str) -> PooledProcess:
    """The process holding ``session_id``'s conversation."""
    [member] = [
        m for m in run.members if m.digest and m.digest.startswith(f"session:{session_id}:")
    ]
    return member


def spares(run: Running) -> list[PooledProcess]:
    return [m for m in run.members if m.session_spare is not None and m.state is State.CLEAN]


async def test_a_session_stays_on_its_pinned_process() -> None:
    async with running() as run:
        sessions = Sessions(run)
        assert reply(await sessions.ask("one")) == "reply 1"
        pinned = pinned_to(run, "s1")
        assert pinned.state is State.HELD
        assert pinned.link is not None
        assert reply(await sessions.ask("two")) == "reply 2"
        assert pinned_to(run, "s1") is pinned
        assert len(run.processes.spawned) == 1
        assert sessions.settled()


async def test_the_first_turn_of_a_new_session_is_served_by_a_session_spare() -> None:
    async with running() as run:
        sessions = Sessions(run)
        await sessions.ask("one", session_id="first")
        assert len(run.processes.spawned) == 1  # no spare yet: one is started for the next
        await run.until(lambda: len(spares(run)) == 1)
        [spare] = spares(run)
        claude_id = spare.session_spare
        assert reply(await sessions.ask("hello", session_id="second")) == "reply 1"
        assert len(run.processes.spawned) == 1
        assert pinned_to(run, "second") is spare
        assert sessions.leaser.records["second"].claude_session_id == claude_id
        assert isinstance(spare.process, FakeProcess)
        assert spare.process.session_id == claude_id
        assert spare.process.sent == [[{"type": "text", "text": "hello"}]]
        await run.until(lambda: len(spares(run)) == 1)  # and another for the next session
        assert sessions.settled()


async def test_a_session_spare_offered_to_an_existing_session_goes_back_unused() -> None:
    async with running() as run:
        sessions = Sessions(run)
        await sessions.ask("one")
        await run.until(lambda: len(spares(run)) == 1)
        [spare] = spares(run)
        assert reply(await sessions.ask("two")) == "reply 2"
        assert spares(run) == [spare]
        assert isinstance(spare.process, FakeProcess)
        assert spare.process.sent == []
        assert sessions.settled()


async def test_a_session_turn_cancelled_while_its_process_starts_leaves_nothing_busy() -> None:
    async with running() as run:
        sessions = Sessions(run)
        run.processes.pause("start")
        async with anyio.create_task_group() as group:
            group.start_soon(sessions.ask, "one")
            # The session's own process, and the session spare started beside it.
            await run.until(lambda: len(run.processes.waiting("start")) == 2)
            [process] = [p for p in run.processes.waiting("start") if p.session_id is None]
            group.cancel_scope.cancel()
        run.processes.resume("start")
        await run.until(sessions.settled)
        assert process.stopped
        assert run.members == spares(run)


@pytest.mark.parametrize("step", ["send", "next"])
async def test_a_session_turn_cancelled_on_its_pinned_process_replaces_it(step: str) -> None:
    async with running() as run:
        sessions = Sessions(run)
        await sessions.ask("one")
        pinned = pinned_to(run, "s1")
        run.processes.pause(step)
        async with anyio.create_task_group() as group:
            group.start_soon(sessions.ask, "two")
            await run.processes.reached(step)
            group.cancel_scope.cancel()
        run.processes.resume(step)
        await run.until(sessions.settled)
        assert pinned not in run.members
        assert isinstance(pinned.process, FakeProcess)
        await run.until(lambda: pinned.process.exited)


async def test_a_session_turn_cancelled_while_its_link_catches_up_replaces_the_process() -> None:
    async with running() as run:
        sessions = Sessions(run)
        await sessions.ask("one")
        pinned = pinned_to(run, "s1")
        assert pinned.link is not None
        await pinned.link.append("late", ["a late flush"])  # held until the next turn
        sessions.leaser.store.hold = anyio.Event()
        with anyio.move_on_after(0.05):
            await sessions.ask("two")
        assert sessions.settled()
        assert pinned not in run.members
