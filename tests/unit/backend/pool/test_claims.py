"""Claiming processes: clean (most recently used first), held, parked, resumed."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import msgspec
import pytest

from tests.fakes.pool_process import FakeProcess
from tests.unit.backend.pool.running import (
    DEFAULT,
    OTHER,
    QUIET,
    deadline,
    running,
    turn,
)
from wrapper.backend.pool import Release, State
from wrapper.events import TextPart, ToolResultPart

pytestmark = pytest.mark.anyio


async def test_a_clean_take_gets_the_most_recently_used_clean_process() -> None:
    async with running() as run:
        older = await run.clean()
        newer = await run.clean()
        taken = await run.pool.take_clean(turn("hi"), DEFAULT, deadline())
        assert taken is newer
        assert taken.state is State.BUSY
        assert older.state is State.CLEAN
        assert run.pool.stats()["spawned"] == 2


async def test_a_clean_take_never_gets_another_profiles_process() -> None:
    async with running() as run:
        other = await run.clean(OTHER)
        taken = await run.pool.take_clean(turn("hi"), DEFAULT, deadline())
        assert taken is not other
        assert taken.profile == DEFAULT
        assert other.state is State.CLEAN


async def test_a_clean_take_with_nothing_idle_starts_a_process() -> None:
    async with running() as run:
        taken = await run.pool.take_clean(turn("hi"), DEFAULT, deadline())
        assert taken.state is State.BUSY
        assert run.processes.made == [taken.process]
        assert run.pool.stats()["spawned"] == 1
        assert run.pool.stats()["starting"] == 0


async def test_a_follow_up_claims_the_process_holding_its_conversation() -> None:
    async with running() as run:
        held = await run.held("conv-1")
        assert held.state is State.HELD
        assert run.pool.take_affine("conv-2") is None
        member = run.pool.take_affine("conv-1")
        assert member is held
        assert member.state is State.BUSY
        await run.pool.begin_turn(member, turn("first", "reply", "second"))
        assert run.pool.stats()["affinity_hits"] == 1
        assert isinstance(member.process, FakeProcess)
        assert member.process.sent[-1] == [{"type": "text", "text": "second"}]


async def test_a_parked_turn_goes_on_with_the_clients_results() -> None:
    async with running() as run:
        member = await run.parked("conv-p", "toolu_1")
        assert member.state is State.PARKED
        claimed = run.pool.take_affine("conv-p")
        assert claimed is member
        turns_before = member.process.turns
        results = [ToolResultPart(tool_use_id="toolu_1", content=(TextPart("42"),))]
        run.pool.resume_parked(member, results)
        assert member.pending == frozenset()
        assert member.process.turns == turns_before + 1
        assert run.pool.stats()["parked_hits"] == 1
        delivered = await member.gate.wait("toolu_1")
        assert delivered.content[0].text == "42"  # type: ignore[union-attr]


async def test_with_no_clean_process_a_held_one_is_cleared_for_the_new_conversation() -> None:
    async with running() as run:
        held = await run.held("conv-1")
        holding = run.pool.members.holding
        holding.rate = rate = 1.0
        taken = await run.pool.take_clean(turn("new"), DEFAULT, deadline())
        assert taken is held
        assert taken.digest is None
        assert isinstance(taken.process, FakeProcess)
        assert taken.process.clears == 1
        assert holding.rate < rate  # given up unclaimed
        assert run.pool.stats()["spawned"] == 1


async def test_a_held_process_that_fails_to_clear_is_replaced() -> None:
    async with running() as run:
        held = await run.held("conv-1")
        assert isinstance(held.process, FakeProcess)
        held.process.clear_ok = False
        taken = await run.pool.take_clean(turn("new"), DEFAULT, deadline())
        assert taken is not held
        assert held.process.stopped
        assert held not in run.members
        assert run.pool.stats()["spawned"] == 2
        assert run.pool.stats()["discarded"] == 1


async def test_pool_reset_replace_never_clears_a_process() -> None:
    async with running(msgspec.structs.replace(QUIET, reset="replace")) as run:
        held = await run.held("conv-1")
        taken = await run.pool.take_clean(turn("new"), DEFAULT, deadline())
        assert taken is not held
        assert isinstance(held.process, FakeProcess)
        assert held.process.clears == 0
        assert held.process.stopped
        run.pool.release(taken, Release.CLEAR)
        await run.until(lambda: taken not in run.members)
        assert isinstance(taken.process, FakeProcess)
        assert taken.process.clears == 0


async def test_a_resumed_conversation_gets_a_new_process_already_running_it() -> None:
    async with running() as run:
        conversation = turn("one", "two", "three")
        member = await run.pool.spawn_for(conversation, DEFAULT, deadline())
        assert member.state is State.BUSY
        assert run.processes.spawned == [(conversation, None)]
        assert run.pool.stats()["spawned"] == 1
        assert run.pool.stats()["starting"] == 0


async def test_a_new_conversation_waits_for_a_process_being_reset_rather_than_starting_one() -> (
    None
):
    async with running() as run:
        held = await run.held("conv-1")
        run.processes.pause("clear")
        run.pool.releasing.reset_soon(held)
        await run.processes.reached("clear")
        taken: list[object] = []

        async def take() -> None:
            taken.append(await run.pool.take_clean(turn("new"), DEFAULT, deadline()))

        async with anyio.create_task_group() as group:
            group.start_soon(take)
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            assert not taken
            assert len(run.processes.made) == 1  # nothing started meanwhile
            run.processes.resume("clear")
        assert taken == [held]
        assert len(run.processes.made) == 1


async def test_a_new_conversation_spares_a_held_process_whose_examples_may_serve_a_prefix() -> None:
    async with running() as run:
        one_shot = await run.held("one-shot")
        few_shot = await run.pool.spawn_for(
            turn("example", "answer", "question"), DEFAULT, deadline()
        )
        run.pool.release(few_shot, Release.HOLD, digest="few-shot")  # used last
        taken = await run.pool.take_clean(turn("new"), DEFAULT, deadline())
        assert taken is one_shot
        assert few_shot.state is State.HELD
