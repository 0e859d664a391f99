"""Starting a process for a claim, or waiting for a busy one to finish or a spare being
started."""

from __future__ import annotations

import anyio
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
from wrapper.backend.pool import PooledProcess, Release, State, claims
from wrapper.backend.pool.start_policy import FIRST_START_S, StartPolicy

pytestmark = pytest.mark.anyio

WARM = msgspec.structs.replace(QUIET, min_warm=1)


def test_with_no_turn_seen_a_claim_starts_at_once() -> None:
    policy = StartPolicy()
    assert policy.start_s == FIRST_START_S
    assert policy.wait_s([0.01], ahead=0, waited=0.0) == 0.0


def test_short_turns_are_waited_for_and_shared_among_the_waiting_claims() -> None:
    policy = StartPolicy()
    policy.turn_ended(0.05)
    assert policy.wait_s([0.01, 0.02], ahead=0, waited=0.0) == pytest.approx(0.05)
    assert policy.wait_s([0.01, 0.02], ahead=3, waited=0.0) == pytest.approx(0.10)
    # Past what a start takes, starting is sooner.
    assert policy.wait_s([0.01], ahead=9, waited=0.0) == 0.0


def test_long_turns_a_stuck_turn_or_a_long_wait_mean_a_start() -> None:
    policy = StartPolicy()
    policy.turn_ended(3.0)
    assert policy.wait_s([0.1], ahead=0, waited=0.0) == 0.0
    policy = StartPolicy()
    policy.turn_ended(0.05)
    assert policy.wait_s([0.2], ahead=0, waited=0.0) == 0.0  # busy for 4 turns' time
    assert policy.wait_s([], ahead=0, waited=0.0) == 0.0
    assert policy.wait_s([0.01], ahead=0, waited=0.48) == 0.0


def test_the_means_follow_what_is_measured() -> None:
    policy = StartPolicy()
    policy.turn_ended(1.0)
    assert policy.turn_s == 1.0
    for _ in range(40):
        policy.turn_ended(0.1)
        policy.started(2.0)
    assert policy.turn_s == pytest.approx(0.1, abs=1e-3)
    assert policy.start_s == pytest.approx(2.0, abs=1e-3)


async def take(run: Running, taken: list[PooledProcess]) -> None:
    taken.append(await run.pool.take_clean(turn("new"), DEFAULT, deadline()))


def primed(run: Running, turn_s: float, start_s: float, cpu_s: float | None = None) -> None:
    """Give the pool's policy a mean turn (with its CPU) and a mean start."""
    starts = run.pool.members.starts
    starts.turn_ended(turn_s, cpu_s)
    starts.start_s = start_s


async def waited_for_busy(run: Running) -> tuple[PooledProcess, list[PooledProcess]]:
    """A turn running on one process, and a claim that waits for it (nothing started
    meanwhile) until it is released; returns that process and what the claim got."""
    first = await run.pool.take_clean(turn("one"), DEFAULT, deadline())
    await run.pool.begin_turn(first, turn("one"))
    taken: list[PooledProcess] = []
    async with anyio.create_task_group() as group:
        group.start_soon(take, run, taken)
        await run.until(lambda: run.pool.members.starts.waiting.get(DEFAULT.key) == 1)
        assert len(run.processes.made) == 1  # nothing started meanwhile
        run.pool.release(first, Release.CLEAR)
    return first, taken


async def test_a_claim_waits_for_a_busy_process_that_frees_sooner_than_a_start() -> None:
    async with running() as run:
        primed(run, turn_s=5.0, start_s=100.0)
        first, taken = await waited_for_busy(run)
        assert taken == [first]
        assert first.state is State.BUSY
        starts = run.pool.members.starts
        stats = run.pool.stats()
        assert stats["spawned"] == 1
        assert stats["busy_waits"] == 1
        assert stats["mean_turn_ms"] < 5000  # the first turn's span counted in
        assert starts.waiting == {}


async def test_a_claim_starts_a_process_when_turns_take_longer_than_a_start() -> None:
    async with running() as run:
        primed(run, turn_s=5.0, start_s=0.5)
        first = await run.pool.take_clean(turn("one"), DEFAULT, deadline())
        second = await run.pool.take_clean(turn("two"), DEFAULT, deadline())
        assert second is not first
        assert run.pool.stats()["spawned"] == 2


async def test_a_claim_starts_a_process_when_the_busy_one_is_overdue() -> None:
    async with running() as run:
        primed(run, turn_s=5.0, start_s=100.0)
        first = await run.pool.take_clean(turn("one"), DEFAULT, deadline())
        age(first, 11.0)
        second = await run.pool.take_clean(turn("two"), DEFAULT, deadline())
        assert second is not first
        assert run.pool.stats()["spawned"] == 2


async def test_another_profiles_busy_process_is_not_waited_for() -> None:
    async with running() as run:
        primed(run, turn_s=5.0, start_s=100.0)
        await run.pool.take_clean(turn("one"), OTHER, deadline())
        mine = await run.pool.take_clean(turn("two"), DEFAULT, deadline())
        assert mine.profile == DEFAULT
        assert run.pool.stats()["spawned"] == 2


async def test_a_claim_takes_the_spare_being_started_rather_than_start_another() -> None:
    async with running(WARM) as run:
        run.processes.pause("start")
        taken: list[PooledProcess] = []
        async with anyio.create_task_group() as group:
            group.start_soon(run.pool.maintenance.top_up, DEFAULT)  # the warm minimum
            spare = await run.processes.reached("start")
            group.start_soon(take, run, taken)
            await run.until(lambda: run.pool.members.starts.waiting_for_spare == {DEFAULT.key: 1})
            assert run.processes.made == [spare]  # it waits, starting nothing
            run.processes.resume("start")
        assert [member.process for member in taken] == [spare]
        assert run.pool.stats()["spawned"] == 1


async def test_a_spare_start_that_hangs_holds_a_claim_up_only_briefly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(claims, "SPARE_WAIT_S", 0.01)
    async with running(WARM) as run:
        run.processes.pause("start")  # every start from now on hangs
        async with anyio.create_task_group() as group:
            group.start_soon(run.pool.maintenance.top_up, DEFAULT)
            await run.processes.reached("start")
            group.start_soon(take, run, [])
            await run.until(lambda: len(run.processes.waiting("start")) == 2)  # its own
            run.processes.resume("start")
        assert run.pool.stats()["spawned"] == 2


def test_busy_processes_that_use_the_cores_are_waited_for_however_long() -> None:
    policy = StartPolicy(cores=2)
    policy.turn_ended(3.0, cpu_seconds=2.7)  # a CPU-bound turn: 0.9 of a core
    assert policy.cpu_share == pytest.approx(0.9)
    assert not policy.saturated(1)
    assert policy.saturated(2)
    # Longer than a start, many ahead, waited long: still a wait while saturated.
    assert policy.wait_s([0.1, 0.2], ahead=9, waited=5.0, busy=2) == pytest.approx(3.0)
    assert policy.wait_s([0.1], ahead=0, waited=0.0, busy=1) == 0.0  # a core is free
    assert policy.wait_s([], ahead=0, waited=0.0, busy=2) == 0.0  # none of the profile


def test_turns_that_wait_for_the_upstream_never_saturate() -> None:
    policy = StartPolicy(cores=2)
    for _ in range(20):
        policy.turn_ended(4.0, cpu_seconds=0.1)
    assert not policy.saturated(32)
    assert policy.wait_s([0.5] * 8, ahead=0, waited=0.0, busy=32) == 0.0


async def test_a_busy_span_counts_the_cpu_its_process_used() -> None:
    async with running() as run:
        member = await run.pool.take_clean(turn("one"), DEFAULT, deadline())
        fake(member).cpu += 1_000.0  # far more than the span's wall time: one core
        run.pool.release(member, Release.CLEAR)
        assert run.pool.members.starts.cpu_share == 1.0


async def test_a_claim_waits_while_the_busy_processes_use_the_cores() -> None:
    async with running() as run:
        run.pool.members.starts.cores = 1
        # A start would be far sooner than the turn's end.
        primed(run, turn_s=5.0, start_s=0.5, cpu_s=5.0)
        first, taken = await waited_for_busy(run)
        assert taken == [first]
        assert run.pool.stats()["spawned"] == 1
