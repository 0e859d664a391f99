"""Where a process goes after its turn: held, parked, reset, discarded, recycled."""

from __future__ import annotations

import msgspec
import pytest

from tests.unit.backend.pool.running import QUIET, Running, fake, running, turn
from wrapper.backend.pool import PooledProcess, Release, State

pytestmark = pytest.mark.anyio


async def test_hold_keeps_the_conversation_for_its_follow_up() -> None:
    async with running() as run:
        member = await run.answered()
        run.pool.release(member, Release.HOLD, digest="conv-1")
        assert member.state is State.HELD
        assert member.digest == "conv-1"


async def test_park_keeps_the_turn_waiting_for_the_tool_results() -> None:
    async with running() as run:
        member = await run.answered()
        run.pool.release(member, Release.PARK, digest="conv-1", pending=frozenset({"toolu_1"}))
        assert member.state is State.PARKED
        assert member.pending == frozenset({"toolu_1"})


async def test_clear_resets_in_the_background_and_the_process_is_clean_again() -> None:
    async with running() as run:
        run.processes.pause("clear")
        member = await run.answered()
        run.pool.release(member, Release.CLEAR)
        assert member.state is State.RESETTING
        assert await run.processes.reached("clear") is member.process
        run.processes.resume("clear")
        await run.until(lambda: member.state is State.CLEAN)
        assert member.digest is None
        assert fake(member).clears == 1


async def test_a_hold_that_cannot_be_kept_is_cleared() -> None:
    async with running() as run:
        member = await run.answered()
        run.pool.release(member, Release.HOLD, digest=None)
        await run.until(lambda: member.state is State.CLEAN)
        assert fake(member).clears == 1


async def test_a_reset_that_fails_discards_the_process() -> None:
    async with running() as run:
        member = await run.answered()
        fake(member).clear_ok = False
        run.pool.release(member, Release.CLEAR)
        await run.until(lambda: fake(member).stopped)
        assert member not in run.members
        assert run.pool.stats()["discarded"] == 1


async def test_discard_stops_the_process_in_the_background() -> None:
    async with running() as run:
        member = await run.answered()
        run.pool.release(member, Release.DISCARD)
        assert member not in run.members
        await run.until(lambda: fake(member).stopped)


async def test_a_session_process_is_replaced_not_cleared() -> None:
    async with running() as run:
        member = await run.answered()
        member.link = object()  # type: ignore[assignment]
        run.pool.release(member, Release.CLEAR)
        assert member not in run.members
        assert fake(member).clears == 0


async def _worn(run: Running, member: PooledProcess) -> None:
    run.pool.release(member, Release.HOLD, digest="conv-1")
    assert member not in run.members
    await run.until(lambda: fake(member).stopped)


async def test_a_process_past_its_turn_budget_is_recycled() -> None:
    async with running(msgspec.structs.replace(QUIET, max_turns_per_process=2)) as run:
        member = await run.answered()
        run.pool.release(member, Release.HOLD, digest="conv-1")
        assert member.state is State.HELD  # one turn: not worn yet
        claimed = run.pool.take_affine("conv-1")
        assert claimed is member
        await run.pool.begin_turn(member, turn("first", "reply", "second"))
        assert member.process.turns == 2
        await _worn(run, member)


async def test_a_process_over_its_memory_budget_is_recycled() -> None:
    async with running(msgspec.structs.replace(QUIET, max_rss_bytes=1000)) as run:
        member = await run.answered()
        fake(member).rss = 1001
        await _worn(run, member)


async def test_a_process_that_exited_is_replaced() -> None:
    async with running() as run:
        member = await run.answered()
        fake(member).dead = True
        await _worn(run, member)


async def test_releasing_twice_or_after_close_does_nothing() -> None:
    async with running() as run:
        member = await run.answered()
        run.pool.release(member, Release.HOLD, digest="conv-1")
        run.pool.release(member, Release.DISCARD)
        assert member.state is State.HELD
        await run.pool.close()
        run.pool.release(member, Release.HOLD, digest="conv-2")
        assert run.members == []
