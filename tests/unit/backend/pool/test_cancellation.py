"""Claims cancelled at every await: no process stays busy, none is replaced needlessly."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from tests.fakes.pool_process import StepFailedError
from tests.unit.backend.pool.running import DEFAULT, Running, deadline, fake, running, turn
from wrapper.backend.pool import State
from wrapper.errors import BackendUnavailableError

pytestmark = pytest.mark.anyio

OTHER_MODEL = "claude-other"


async def cancel_at(run: Running, step: str, claim: object) -> None:
    """Run ``claim`` (a coroutine function), cancel it once a process waits at
    ``step``, then let that step go on."""
    run.processes.pause(step)
    async with anyio.create_task_group() as group:
        group.start_soon(claim)  # type: ignore[arg-type]
        await run.processes.reached(step)
        group.cancel_scope.cancel()
    run.processes.resume(step)


def nothing_busy(run: Running) -> bool:
    return State.BUSY not in run.states() and run.pool.stats()["starting"] == 0


async def test_cancelled_while_a_held_process_is_cleared_for_it_the_process_ends_clean() -> None:
    async with running() as run:
        held = await run.held("conv-1")

        async def claim() -> None:
            await run.pool.take_clean(turn("new"), DEFAULT, deadline())

        await cancel_at(run, "clear", claim)
        await run.until(lambda: held.state is State.CLEAN)
        assert nothing_busy(run)
        assert not fake(held).stopped
        assert run.pool.stats()["abandoned_untold"] == 1
        assert await run.pool.take_clean(turn("next"), DEFAULT, deadline()) is held


async def test_cancelled_while_a_process_starts_for_it_the_process_becomes_a_spare() -> None:
    async with running() as run:

        async def claim() -> None:
            await run.pool.take_clean(turn("new"), DEFAULT, deadline())

        await cancel_at(run, "start", claim)
        await run.until(lambda: run.count(State.CLEAN) == 1)
        assert nothing_busy(run)
        assert run.pool.stats()["spawned"] == 1
        assert run.pool.stats()["abandoned_untold"] == 1
        assert not run.processes.made[0].stopped


async def test_cancelled_while_waiting_for_room_nothing_changes() -> None:
    async with running() as run:
        busy = [await run.pool.take_clean(turn("x"), DEFAULT, deadline()) for _ in range(3)]
        with anyio.move_on_after(0.05):
            await run.pool.take_clean(turn("y"), DEFAULT, deadline())
        with anyio.move_on_after(0.05):
            await run.pool.spawn_for(turn("a", "b", "c"), DEFAULT, deadline())
        assert run.members == busy
        assert run.pool.stats()["starting"] == 0
        assert run.pool.stats()["abandoned_untold"] == 2


async def test_a_turn_cancelled_before_the_cli_was_told_anything_keeps_its_process() -> None:
    async with running() as run:
        member = await run.pool.take_clean(turn("hi"), DEFAULT, deadline())
        with anyio.CancelScope() as scope:
            scope.cancel()
            await run.pool.begin_turn(member, turn("hi", model=OTHER_MODEL))
        assert member.state is State.CLEAN
        assert fake(member).sent == []
        assert not fake(member).stopped
        assert run.pool.stats()["abandoned_untold"] == 1
        assert run.pool.stats()["discarded"] == 0


async def test_a_follow_up_cancelled_before_the_cli_was_told_anything_keeps_the_hold() -> None:
    async with running() as run:
        held = await run.held("conv-1")
        member = run.pool.take_affine("conv-1")
        assert member is held
        with anyio.CancelScope() as scope:
            scope.cancel()
            await run.pool.begin_turn(member, turn("first", "reply", "second"))
        assert held.state is State.HELD
        assert held.digest == "conv-1"
        assert run.pool.stats()["affinity_hits"] == 0
        assert run.pool.take_affine("conv-1") is held


@pytest.mark.parametrize("step", ["set_model", "send"])
async def test_a_turn_cancelled_once_the_cli_was_told_replaces_its_process(step: str) -> None:
    async with running() as run:
        member = await run.pool.take_clean(turn("hi"), DEFAULT, deadline())

        async def claim() -> None:
            await run.pool.begin_turn(member, turn("hi", model=OTHER_MODEL))

        await cancel_at(run, step, claim)
        assert member not in run.members
        await run.until(lambda: fake(member).stopped)
        assert run.pool.stats()["discarded"] == 1
        assert run.pool.stats()["abandoned_untold"] == 0


async def test_a_turn_that_fails_to_start_replaces_its_process() -> None:
    async with running() as run:
        member = await run.pool.take_clean(turn("hi"), DEFAULT, deadline())
        run.processes.fail("send")
        with pytest.raises(StepFailedError):
            await run.pool.begin_turn(member, turn("hi"))
        assert member not in run.members
        await run.until(lambda: fake(member).stopped)


async def test_a_resume_cancelled_while_its_process_starts_stops_that_process() -> None:
    async with running() as run:

        async def claim() -> None:
            await run.pool.spawn_for(turn("a", "b", "c"), DEFAULT, deadline())

        await cancel_at(run, "start", claim)
        assert run.members == []
        assert run.processes.made[0].stopped
        assert run.pool.stats()["starting"] == 0


async def test_close_stops_every_process_and_refuses_claims() -> None:
    async with running() as run:
        busy = await run.pool.take_clean(turn("x"), DEFAULT, deadline())
        clean = await run.clean()
        await run.pool.close()
        assert run.members == []
        assert fake(busy).stopped and fake(clean).stopped
        with pytest.raises(BackendUnavailableError, match="shutting down"):
            await run.pool.take_clean(turn("y"), DEFAULT, deadline())
        with pytest.raises(BackendUnavailableError, match="shutting down"):
            await run.pool.spawn_for(turn("a", "b", "c"), DEFAULT, deadline())


async def test_a_claim_waiting_for_room_at_close_is_refused() -> None:
    async with running() as run:
        for _ in range(3):
            await run.pool.take_clean(turn("x"), DEFAULT, deadline())
        refused: list[BaseException] = []

        async def claim() -> None:
            try:
                await run.pool.take_clean(turn("y"), DEFAULT, deadline())
            except BackendUnavailableError as exc:
                refused.append(exc)

        async with anyio.create_task_group() as group:
            group.start_soon(claim)
            await anyio.lowlevel.checkpoint()
            await run.pool.close()
        assert len(refused) == 1


async def test_a_process_starting_at_close_is_stopped() -> None:
    async with running() as run:
        run.processes.pause("start")
        outcome: list[BaseException] = []

        async def claim() -> None:
            try:
                await run.pool.take_clean(turn("y"), DEFAULT, deadline())
            except BackendUnavailableError as exc:
                outcome.append(exc)

        async with anyio.create_task_group() as group:
            group.start_soon(claim)
            starting = await run.processes.reached("start")
            await run.pool.close()
            run.processes.resume("start")
        assert len(outcome) == 1
        assert starting.stopped
        assert run.members == []
