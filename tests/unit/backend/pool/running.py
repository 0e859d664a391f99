"""A pool over fake processes, running in a task group for one test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal

import anyio
import anyio.lowlevel

from tests.fakes.pool_process import FakeProcess, FakeProcesses
from wrapper.backend.pool import PooledProcess, ProcessPool, Release, State
from wrapper.backend.profile import Profile
from wrapper.backend.turns import Deadline
from wrapper.config import PoolSettings
from wrapper.events import Message, TextPart, Turn

DEFAULT = Profile(system_prompt="")
OTHER = Profile(system_prompt="be brief")
MODEL = "claude-test"
# No spares and no housekeeping unless a test asks for them.
QUIET = PoolSettings(
    max_processes=3,
    min_warm=0,
    spares_per_profile=0,
    unbound_spares=0,
    freeze_after_s=0,
    maintenance_interval_s=3600,
)


def turn(*texts: str, model: str = MODEL) -> Turn:
    """A turn whose messages alternate user/assistant, ending with the user's."""
    roles: tuple[Literal["user"], Literal["assistant"]] = ("user", "assistant")
    messages = tuple(
        Message(role=roles[n % 2], content=(TextPart(text),)) for n, text in enumerate(texts)
    )
    return Turn(model=model, messages=messages)


def deadline(seconds: float = 5.0) -> Deadline:
    return Deadline(seconds)


def fake(member: PooledProcess) -> FakeProcess:
    """The fake process behind ``member``."""
    assert isinstance(member.process, FakeProcess)
    return member.process


def age(member: PooledProcess, seconds: float = 10_000.0) -> None:
    """Make ``member`` look as if it entered its state ``seconds`` earlier."""
    member.since -= seconds


class Running:
    """The pool under test, its fake factory, and ways to look at both."""

    def __init__(self, pool: ProcessPool, processes: FakeProcesses) -> None:
        self.pool = pool
        self.processes = processes

    @property
    def members(self) -> list[PooledProcess]:
        return list(self.pool.members.all)

    def states(self) -> list[State]:
        return [member.state for member in self.pool.members.all]

    def count(self, state: State) -> int:
        return self.states().count(state)

    def member_of(self, process: FakeProcess) -> PooledProcess:
        return next(m for m in self.pool.members.all if m.process is process)

    async def clean(self, profile: Profile = DEFAULT, model: str = MODEL) -> PooledProcess:
        """Start a clean process into the pool (as a spare would be)."""
        assert self.pool.capacity.reserve()
        return await self.pool.capacity.start(profile, model, None)

    async def held(self, digest: str, profile: Profile = DEFAULT) -> PooledProcess:
        """A process holding conversation ``digest`` (it answered one turn)."""
        member = await self.answered(profile)
        self.pool.release(member, Release.HOLD, digest=digest)
        return member

    async def parked(self, digest: str, *pending: str) -> PooledProcess:
        """A process parked in conversation ``digest``, its tool calls ``pending``."""
        member = await self.answered()
        self.pool.release(member, Release.PARK, digest=digest, pending=frozenset(pending))
        return member

    async def answered(self, profile: Profile = DEFAULT) -> PooledProcess:
        """A new process that just ran a turn (busy; its conversation not empty)."""
        member = self.pool.members.claim(await self.clean(profile))
        await self.pool.begin_turn(member, turn("first"))
        return member

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Let the background work run until ``predicate`` holds."""
        with anyio.fail_after(timeout):
            while not predicate():
                await anyio.lowlevel.checkpoint()


@asynccontextmanager
async def running(
    settings: PoolSettings = QUIET, processes: FakeProcesses | None = None
) -> AsyncIterator[Running]:
    fakes = processes or FakeProcesses()
    pool = ProcessPool(fakes, settings, DEFAULT, MODEL)
    async with anyio.create_task_group() as background:
        pool.attach(background)
        try:
            yield Running(pool, fakes)
        finally:
            await pool.close()
            background.cancel_scope.cancel()
