"""The pooled backend over fake processes: turns, affinity, and turns cancelled at every await.

Whatever await a turn is cancelled at, no process stays busy and its admission
slot is freed; a turn given up before the CLI was told anything keeps its
process, one given up later has it replaced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest

from tests.fakes.pool_process import FakeProcess
from tests.unit.backend.pool.running import MODEL, Running, running, turn
from wrapper.backend.admission import Admission
from wrapper.backend.pool import State
from wrapper.backend.pooled import PooledBackend
from wrapper.events import AgentEvent, TextDelta, Turn

pytestmark = pytest.mark.anyio


class Served:
    def __init__(self, run: Running, backend: PooledBackend, admission: Admission) -> None:
        self.run = run
        self.backend = backend
        self.admission = admission

    async def ask(self, request: Turn) -> list[AgentEvent]:
        async with self.backend.open(request) as events:
            return [event async for event in events]

    def settled(self) -> bool:
        return (
            State.BUSY not in self.run.states()
            and self.run.pool.stats()["starting"] == 0
            and self.admission.running == 0
            and self.admission.waiting == 0
        )


@asynccontextmanager
async def served(limit: int = 3) -> AsyncIterator[Served]:
    admission = Admission(limit, queue_limit=8, queue_timeout_s=5)
    async with running() as run:
        yield Served(run, PooledBackend(run.pool, admission, timeout_s=5), admission)


def text(events: list[AgentEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


async def test_a_turn_is_answered_and_its_process_holds_the_conversation() -> None:
    async with served() as serve:
        events = await serve.ask(turn("hi"))
        assert text(events) == "reply 1"
        assert serve.run.states() == [State.HELD]
        follow_up = await serve.ask(turn("hi", "reply 1", "more"))
        assert text(follow_up) == "reply 2"
        assert serve.run.pool.stats()["affinity_hits"] == 1
        assert serve.run.pool.stats()["spawned"] == 1
        assert serve.settled()


async def test_a_conversation_no_process_holds_is_resumed_on_a_new_one() -> None:
    async with served() as serve:
        events = await serve.ask(turn("one", "two", "three"))
        assert text(events) == "reply 1"
        assert len(serve.run.processes.spawned) == 1
        assert serve.settled()


async def _occupied(serve: Served) -> Callable[[], Awaitable[None]]:
    """Fill the one admission slot; returns how to free it."""
    free = anyio.Event()
    taken = anyio.Event()

    async def occupy() -> None:
        async with serve.admission.slot(5):
            taken.set()
            await free.wait()

    serve.run.pool.members.spawn_soon(occupy)
    await taken.wait()

    async def release() -> None:
        free.set()

    return release


async def test_a_turn_cancelled_in_the_admission_queue_frees_its_place() -> None:
    async with served(limit=1) as serve:
        release = await _occupied(serve)
        with anyio.move_on_after(0.05):
            await serve.ask(turn("hi"))
        assert serve.admission.waiting == 0
        await release()
        await serve.run.until(serve.settled)
        assert serve.run.processes.made == []


# (the step the turn is cancelled at, how the pool is set up first, whether the CLI
# had been told anything by then)
STEPS = [
    ("start", "empty", False),
    ("clear", "held", False),
    ("set_model", "clean", True),
    ("send", "clean", True),
    ("next", "clean", True),
]


@pytest.mark.parametrize(("step", "setup", "told"), STEPS)
async def test_a_turn_cancelled_at_any_await_releases_its_process_and_slot(
    step: str, setup: str, told: bool
) -> None:
    async with served() as serve:
        run = serve.run
        if setup == "clean":
            await run.clean()
        elif setup == "held":
            await run.held("conv-other")
        before = run.pool.stats()
        run.processes.pause(step)
        async with anyio.create_task_group() as group:
            group.start_soon(serve.ask, turn("hi", model="claude-other"))
            process = await run.processes.reached(step)
            group.cancel_scope.cancel()
        run.processes.resume(step)
        await run.until(serve.settled)
        after = run.pool.stats()
        assert isinstance(process, FakeProcess)
        if told:
            await run.until(lambda: process.stopped)
            assert after["discarded"] == before["discarded"] + 1
            assert after["abandoned_untold"] == before["abandoned_untold"]
        else:
            await run.until(lambda: run.states() == [State.CLEAN])
            assert not process.stopped
            assert after["discarded"] == before["discarded"]
            assert after["abandoned_untold"] == before["abandoned_untold"] + 1


async def test_a_turn_cancelled_just_as_its_process_was_claimed_keeps_the_process() -> None:
    async with served() as serve:
        clean = await serve.run.clean()
        with anyio.CancelScope() as scope:
            scope.cancel()
            await serve.ask(turn("hi", model=MODEL))
        assert serve.settled()
        assert clean.state is State.CLEAN
        assert isinstance(clean.process, FakeProcess)
        assert clean.process.sent == []
