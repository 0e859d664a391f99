"""The cap on live processes: eviction order, waiting for room, the deadline."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from tests.unit.backend.pool.running import DEFAULT, OTHER, deadline, running, turn
from wrapper.backend.pool import Release, State
from wrapper.errors import BackendTimeoutError, BackendUnavailableError

pytestmark = pytest.mark.anyio


async def test_at_the_cap_an_idle_clean_process_of_another_profile_goes_first() -> None:
    async with running() as run:
        busy = await run.pool.take_clean(turn("x"), DEFAULT, deadline())
        held = await run.held("conv-1")
        other = await run.clean(OTHER)
        assert run.pool.stats()["total"] == 3
        resumed = await run.pool.spawn_for(turn("a", "b", "c"), DEFAULT, deadline())
        assert other not in run.members
        assert held.state is State.HELD
        assert busy.state is State.BUSY
        assert resumed.state is State.BUSY
        await run.until(lambda: other.process.exited)


async def test_then_the_least_recently_used_held_or_parked_process_goes() -> None:
    async with running() as run:
        older = await run.held("conv-old")
        newer = await run.held("conv-new")
        parked = await run.parked("conv-p", "toolu_1")
        await run.pool.spawn_for(turn("a", "b", "c"), DEFAULT, deadline())
        assert older not in run.members
        assert newer.state is State.HELD
        assert parked.state is State.PARKED
        await run.pool.spawn_for(turn("d", "e", "f"), DEFAULT, deadline())
        assert newer not in run.members
        await run.pool.spawn_for(turn("g", "h", "i"), DEFAULT, deadline())
        assert parked not in run.members
        assert run.states() == [State.BUSY] * 3
        assert run.pool.stats()["discarded"] == 3


async def test_a_busy_process_is_never_evicted_the_claim_waits_until_its_deadline() -> None:
    async with running() as run:
        for _ in range(3):
            await run.pool.take_clean(turn("x"), DEFAULT, deadline())
        with pytest.raises(BackendUnavailableError) as raised:
            await run.pool.take_clean(turn("y"), DEFAULT, deadline(0.05))
        assert raised.value.status == 503
        assert raised.value.code == "pool_exhausted"
        assert raised.value.retry_after == 2
        assert run.states() == [State.BUSY] * 3
        with pytest.raises(BackendUnavailableError):
            await run.pool.spawn_for(turn("a", "b", "c"), DEFAULT, deadline(0.05))
        assert run.pool.stats()["starting"] == 0


async def test_a_waiting_claim_gets_the_process_released_meanwhile() -> None:
    async with running() as run:
        busy = [await run.pool.take_clean(turn("x"), DEFAULT, deadline()) for _ in range(3)]
        got = []

        async def claim() -> None:
            got.append(await run.pool.take_clean(turn("y"), DEFAULT, deadline()))

        async with anyio.create_task_group() as group:
            group.start_soon(claim)
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
            assert not got
            run.pool.release(busy[0], Release.CLEAR)
        assert got == [busy[0]]
        assert run.pool.stats()["spawned"] == 3


async def test_a_process_that_fails_to_start_is_stopped_and_its_room_given_back() -> None:
    async with running() as run:
        run.processes.fail("start")
        with pytest.raises(Exception, match="start"):
            await run.pool.take_clean(turn("x"), DEFAULT, deadline())
        assert run.processes.made[0].stopped
        assert run.pool.stats()["total"] == 0
        assert run.pool.stats()["spawned"] == 0


async def test_a_start_past_the_deadline_is_a_timeout() -> None:
    async with running() as run:
        run.processes.pause("start")
        with pytest.raises(BackendTimeoutError):
            await run.pool.take_clean(turn("x"), DEFAULT, deadline(0.05))
        assert run.processes.made[0].stopped
        assert run.pool.stats()["total"] == 0


async def test_a_held_process_whose_examples_may_serve_a_prefix_is_evicted_after_one_shots() -> (
    None
):
    async with running() as run:  # room for three
        few_shot = await run.pool.spawn_for(
            turn("example", "answer", "question"), DEFAULT, deadline()
        )
        run.pool.release(few_shot, Release.HOLD, digest="few-shot")  # used least recently
        one_shot = await run.held("one-shot")
        await run.held("another one-shot")
        await run.pool.spawn_for(turn("a", "b", "unseen"), DEFAULT, deadline())
        assert few_shot in run.members
        assert one_shot not in run.members
