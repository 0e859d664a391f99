"""Housekeeping: spares (and the hold policy's say in them), expiry, recycling."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import msgspec
import pytest

from tests.fakes.pool_process import FakeProcesses
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
from wrapper.backend.pool import PooledProcess, Release, State
from wrapper.backend.pool.hold_policy import SEEN_ENOUGH
from wrapper.backend.pool_view import NoPool
from wrapper.config import PoolSettings

pytestmark = pytest.mark.anyio

SPARE = msgspec.structs.replace(QUIET, spares_per_profile=1)


async def test_the_default_profile_is_kept_warm_from_the_start() -> None:
    async with running(msgspec.structs.replace(QUIET, min_warm=2)) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)
        await run.pool.maintenance.once()  # one more each maintenance interval
        assert run.count(State.CLEAN) == 2
        assert all(member.profile == DEFAULT for member in run.members)


async def test_a_clean_take_starts_a_spare_in_the_background() -> None:
    async with running(SPARE) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)  # the default profile's
        await run.clean(OTHER)
        run.pool.members.holding.rate = 1.0  # else the busy process becomes the spare
        taken = await run.pool.take_clean(turn("hi"), OTHER, deadline())
        await run.until(lambda: run.count(State.CLEAN) == 2)
        assert sorted(m.profile.key for m in run.members if m.state is State.CLEAN) == sorted(
            [DEFAULT.key, OTHER.key]
        )
        assert taken.state is State.BUSY


async def test_while_holding_pays_a_spare_is_started_and_conversations_kept() -> None:
    async with running(SPARE) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)  # the default profile's
        held = await run.held("conv-1", OTHER)
        run.pool.members.holding.rate = 1.0
        await run.pool.maintenance.top_up(OTHER)
        assert held.state is State.HELD
        assert [m.profile for m in run.members if m.state is State.CLEAN] == [DEFAULT, OTHER]
        assert run.pool.stats()["spawned"] == 3


async def test_while_holding_does_not_pay_a_held_process_is_the_spare() -> None:
    async with running(SPARE) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)  # the default profile's
        run.pool.members.holding.rate = 1.0  # both conversations are held
        older = await run.held("conv-1", OTHER)
        newer = await run.held("conv-2", OTHER)
        run.pool.members.holding.rate = 0.0
        await run.pool.maintenance.top_up(OTHER)
        assert (older.state, newer.state) == (State.HELD, State.HELD)
        assert run.pool.stats()["spawned"] == 3
        # A new conversation rewinds the process used last, which stays warm.
        taken = await run.pool.take_clean(turn("new"), OTHER, deadline())
        assert taken is newer
        assert fake(newer).clears == 1
        assert older.state is State.HELD
        assert run.pool.stats()["spawned"] == 3


async def test_at_the_cap_held_conversations_stand_in_for_the_spare() -> None:
    async with running(SPARE) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)  # the default profile's
        older = await run.held("conv-1", OTHER)
        newer = await run.held("conv-2", OTHER)
        run.pool.members.holding.rate = 1.0
        await run.pool.maintenance.top_up(OTHER)
        assert (older.state, newer.state) == (State.HELD, State.HELD)
        # While holding pays, a new conversation gives up the oldest one.
        taken = await run.pool.take_clean(turn("new"), OTHER, deadline())
        assert taken is older
        assert newer.state is State.HELD
        assert run.pool.stats()["spawned"] == 3


async def test_a_spare_never_evicts_or_touches_busy_or_parked_processes() -> None:
    settings = msgspec.structs.replace(SPARE, max_processes=2)
    async with running(settings) as run:
        busy = await run.pool.take_clean(turn("x"), DEFAULT, deadline())
        parked = await run.parked("conv-p", "toolu_1")
        await run.pool.maintenance.top_up(DEFAULT)
        assert run.states() == [State.BUSY, State.PARKED]
        assert busy in run.members and parked in run.members


async def test_an_idle_clean_process_expires_but_the_warm_minimum_stays() -> None:
    async with running(msgspec.structs.replace(QUIET, min_warm=1)) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)
        warm = run.members[0]
        other = await run.clean(OTHER)
        extra = await run.clean()
        for member in (warm, other, extra):
            age(member)
        age(warm, 20_000.0)
        await run.pool.maintenance.once()
        assert other not in run.members
        # The warm minimum keeps the one used last; the other expires.
        assert extra in run.members
        assert warm not in run.members
        assert fake(other).stopped and fake(warm).stopped


async def test_a_parked_turn_expires() -> None:
    async with running() as run:
        parked = await run.parked("conv-p", "toolu_1")
        await run.pool.maintenance.once()
        assert parked in run.members
        age(parked)
        await run.pool.maintenance.once()
        assert parked not in run.members
        assert fake(parked).stopped


async def test_a_held_conversation_expires_and_its_process_is_cleared() -> None:
    async with running() as run:
        held = await run.held("conv-1")
        age(held)
        await run.pool.maintenance.once()
        await run.until(lambda: held.state is State.CLEAN)
        assert held.digest is None
        assert run.pool.take_affine("conv-1") is None


async def test_a_held_session_expires_and_its_process_is_replaced() -> None:
    async with running() as run:
        held = await run.held("session:s:1")
        held.link = object()  # type: ignore[assignment]
        age(held)
        await run.pool.maintenance.once()
        assert held not in run.members
        assert fake(held).stopped


async def test_a_worn_clean_process_is_recycled() -> None:
    settings: PoolSettings = msgspec.structs.replace(QUIET, max_rss_bytes=1000)
    async with running(settings) as run:
        clean = await run.clean()
        await run.pool.maintenance.once()
        assert clean in run.members
        fake(clean).rss = 5000
        await run.pool.maintenance.once()
        assert clean not in run.members
        assert fake(clean).stopped


async def test_a_profile_not_used_for_a_while_gets_no_more_spares() -> None:
    async with running(SPARE) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)  # the default profile's
        run.pool.members.holding.rate = 1.0  # a spare is started for OTHER
        await run.pool.take_clean(turn("hi"), OTHER, deadline())
        await run.pool.maintenance.once()
        spare = next(m for m in run.members if m.state is State.CLEAN and m.profile == OTHER)
        age(spare)
        recent = run.pool.maintenance._recent
        profile, model, used = recent[OTHER.key]
        recent[OTHER.key] = (profile, model, used - 10_000.0)
        await run.pool.maintenance.once()
        assert spare not in run.members
        assert OTHER.key not in recent
        assert [m.profile for m in run.members if m.state is State.CLEAN] == [DEFAULT]


async def test_two_top_ups_at_once_start_one_spare() -> None:
    async with running(SPARE) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)  # the default profile's
        run.processes.pause("start")
        async with anyio.create_task_group() as group:
            group.start_soon(run.pool.maintenance.top_up, OTHER)
            group.start_soon(run.pool.maintenance.top_up, OTHER)
            await run.processes.reached("start")
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
            run.processes.resume("start")
        assert len(run.processes.made) == 2
        assert [m.profile for m in run.members] == [DEFAULT, OTHER]


async def test_while_holding_does_not_pay_a_running_turns_process_becomes_the_spare() -> None:
    async with running(SPARE) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)  # the default profile's
        run.pool.members.holding.rate = 0.0
        busy = await run.answered(OTHER)
        await run.pool.maintenance.top_up(OTHER)
        assert len(run.processes.made) == 2  # nothing started
        run.pool.release(busy, Release.HOLD, digest="conv-1")
        await run.pool.maintenance.top_up(OTHER)
        assert busy.state is State.HELD  # the profile's spare, rewound when needed
        assert len(run.processes.made) == 2


async def one_shot(run: Running, n: int) -> PooledProcess:
    """A one-shot conversation's turn, released holding its conversation."""
    member = await run.pool.take_clean(turn(f"one-shot {n}"), DEFAULT, deadline())
    await run.pool.begin_turn(member, turn(f"one-shot {n}"))
    run.pool.release(member, Release.HOLD, digest=f"conversation-{n}")
    return member


async def unclaimed(run: Running) -> PooledProcess:
    """One-shot conversations until holds are seen to go unclaimed: the last one's
    process, rewound at once."""
    for n in range(SEEN_ENOUGH):
        await one_shot(run, n)
    member = await one_shot(run, SEEN_ENOUGH)
    assert run.pool.members.holding.rarely_claimed
    await run.until(lambda: run.count(State.RESETTING) == 0)
    return member


async def test_a_fresh_pool_keeps_a_single_exchange_held_until_a_new_conversation_needs_it() -> (
    None
):
    async with running() as run:
        member = await one_shot(run, 0)
        assert member.state is State.HELD  # its follow-up may come: nothing says otherwise
        assert fake(member).clears == 0


async def test_once_holds_go_unclaimed_a_single_exchange_is_rewound_as_its_turn_ends() -> None:
    async with running() as run:
        for n in range(SEEN_ENOUGH):
            await one_shot(run, n)
            assert run.count(State.HELD) == 1  # until the fates of enough holds are known
        member = await one_shot(run, SEEN_ENOUGH)
        assert run.pool.members.holding.rarely_claimed
        assert member.state is State.RESETTING
        await run.until(lambda: member.state is State.CLEAN)
        clears = fake(member).clears
        # The next conversation finds it clean: no rewind on its path.
        assert await run.pool.take_clean(turn("next"), DEFAULT, deadline()) is member
        assert fake(member).clears == clears
        assert run.pool.stats()["spawned"] == 1


async def test_a_conversation_dropped_as_its_turn_ended_still_counts_when_its_follow_up_comes() -> (
    None
):
    async with running() as run:
        await unclaimed(run)
        holding = run.pool.members.holding
        rate = holding.rate
        assert run.pool.take_affine(f"conversation-{SEEN_ENOUGH}") is None
        assert holding.rate > rate  # the drop was a mistake: holding may pay after all


async def test_a_hold_stays_while_a_clean_process_of_its_profile_is_left() -> None:
    async with running() as run:
        await unclaimed(run)
        spare = await run.clean()
        member = await run.held("conv-1")
        assert member.state is State.HELD  # the next conversation takes the clean one
        assert spare.state is State.CLEAN


async def test_a_longer_conversation_stays_held_for_the_prefixes_it_may_serve() -> None:
    async with running() as run:
        await unclaimed(run)
        few_shot = await run.pool.spawn_for(
            turn("example", "answer", "question"), DEFAULT, deadline()
        )
        run.pool.release(few_shot, Release.HOLD, digest="few-shot")
        assert few_shot.state is State.HELD


async def test_one_shot_traffic_after_a_restart_does_not_grow_the_pool() -> None:
    settings = msgspec.structs.replace(QUIET, max_processes=8, min_warm=1, spares_per_profile=1)
    async with running(settings) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)
        for n in range(10):
            member = await run.pool.take_clean(turn(f"one-shot {n}"), DEFAULT, deadline())
            await run.pool.begin_turn(member, turn(f"one-shot {n}"))
            run.pool.release(member, Release.HOLD, digest=f"conversation-{n}")
            await run.until(
                lambda: run.count(State.RESETTING) == 0 and run.pool.members.starting == 0
            )
        assert run.pool.stats()["spawned"] <= 2


def ready(run: Running) -> bool:
    """The pool's readiness now (a call, so that each read is a new one to mypy too)."""
    return run.pool.ready


async def test_the_pool_is_ready_once_its_warm_minimum_is_up_and_stays_ready() -> None:
    processes = FakeProcesses()
    processes.pause("start")
    async with running(msgspec.structs.replace(QUIET, min_warm=1), processes) as run:
        await processes.reached("start")
        assert not ready(run)  # the first warm process is still starting
        processes.resume("start")
        await run.until(lambda: run.count(State.CLEAN) == 1)
        assert ready(run)
        await run.pool.capacity.discard(run.members[0])  # a lost process is replaced later
        assert ready(run)
        await run.pool.close()
        assert not ready(run)


async def test_a_pool_without_a_warm_minimum_is_ready_at_once() -> None:
    async with running(QUIET) as run:
        assert ready(run)
        assert NoPool().ready  # the cold backend never waits for a start
