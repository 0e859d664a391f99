"""Idle processes are frozen after a while, and continued by whatever they are told next."""

from __future__ import annotations

import msgspec
import pytest

from tests.unit.backend.pool.running import (
    DEFAULT,
    OTHER,
    QUIET,
    Running,
    age,
    deadline,
    fake,
    running,
    turn,
)
from wrapper.backend.pool import PooledProcess, State

pytestmark = pytest.mark.anyio

FREEZING = msgspec.structs.replace(QUIET, max_processes=6, freeze_after_s=10.0)


async def frozen_held(run: Running) -> PooledProcess:
    """A process holding conversation ``conv-1``, idle past the limit and frozen."""
    held = await run.held("conv-1")
    age(held, 60)
    await run.pool.maintenance.once()
    assert fake(held).frozen
    return held


def frozen(run: Running) -> list[PooledProcess]:
    return [m for m in run.members if fake(m).frozen]


async def test_processes_idle_past_the_limit_are_frozen_but_the_next_clean_one() -> None:
    async with running(FREEZING) as run:
        older = await run.clean()
        newer = await run.clean()
        held = await run.held("conv-1")
        other = await run.clean(OTHER)
        for member in (older, newer, held, other):
            age(member, 60)
        await run.pool.maintenance.once()
        # The newest clean process of each profile is what its next new
        # conversation takes: it stays awake.
        assert frozen(run) == [older, held]
        assert run.pool.stats()["frozen"] == 2


async def test_nothing_is_frozen_before_the_limit_or_with_the_limit_zero() -> None:
    async with running(FREEZING) as run:
        await run.clean()
        await run.clean()
        held = await run.held("conv-1")
        age(held, 9)
        await run.pool.maintenance.once()
        assert frozen(run) == []
    async with running(msgspec.structs.replace(FREEZING, freeze_after_s=0)) as run:
        await run.clean()
        await run.clean()
        for member in run.members:
            age(member, 10_000)
        await run.pool.maintenance.once()
        assert frozen(run) == []


async def test_busy_parked_and_resetting_processes_are_never_frozen() -> None:
    async with running(FREEZING) as run:
        busy = await run.answered()
        parked = await run.parked("conv-p", "call-1")
        resetting = await run.held("conv-r")
        run.processes.pause("clear")
        run.pool.releasing.reset_soon(resetting)
        await run.processes.reached("clear")
        for member in (busy, parked, resetting):
            age(member, 60)
        await run.pool.maintenance.once()
        assert [m.state for m in (busy, parked, resetting)] == [
            State.BUSY,
            State.PARKED,
            State.RESETTING,
        ]
        assert frozen(run) == []
        run.processes.resume("clear")


async def test_a_frozen_held_conversation_is_continued_by_its_follow_up() -> None:
    async with running(FREEZING) as run:
        held = await frozen_held(run)
        member = run.pool.take_affine("conv-1")
        assert member is held
        await run.pool.begin_turn(member, turn("first", "reply", "second"))
        # The fake refuses to be read while frozen: the send continued it.
        assert not fake(held).frozen
        assert fake(held).sent[-1] == [{"type": "text", "text": "second"}]


async def test_a_frozen_clean_process_serves_a_new_conversation() -> None:
    async with running(FREEZING) as run:
        older = await run.clean()
        await run.clean()
        age(older, 60)
        await run.pool.maintenance.once()
        assert fake(older).frozen
        first = await run.pool.take_clean(turn("hi"), DEFAULT, deadline())
        second = await run.pool.take_clean(turn("hello"), DEFAULT, deadline())
        assert second is older and first is not second
        await run.pool.begin_turn(second, turn("hello"))
        assert not fake(older).frozen
        assert fake(older).sent[-1] == [{"type": "text", "text": "hello"}]


async def test_a_frozen_held_process_is_continued_to_be_cleared_when_it_expires() -> None:
    async with running(msgspec.structs.replace(FREEZING, affinity_ttl_s=100.0)) as run:
        held = await frozen_held(run)
        age(held, 60)
        await run.pool.maintenance.once()  # the conversation expires: it is cleared
        await run.until(lambda: held.state is State.CLEAN)
        assert not fake(held).frozen
        assert fake(held).rewinds or fake(held).clears


async def test_a_process_that_may_not_be_frozen_stays_as_it_is() -> None:
    async with running(FREEZING) as run:
        held = await run.held("conv-1")
        fake(held).freezable = False
        age(held, 60)
        await run.pool.maintenance.once()
        assert frozen(run) == []
        assert run.pool.stats()["frozen"] == 0


async def test_closing_the_pool_stops_frozen_processes() -> None:
    async with running(FREEZING) as run:
        held = await frozen_held(run)
        process = fake(held)
    assert process.stopped and not process.frozen
