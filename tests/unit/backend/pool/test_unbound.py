"""Unbound spares: kept for a base once a new profile of it missed, bound on a miss."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import msgspec
import pytest

from tests.unit.backend.pool.running import (
    DEFAULT,
    MODEL,
    OTHER,
    QUIET,
    Running,
    deadline,
    fake,
    running,
    turn,
)
from wrapper.backend.pool import PooledProcess, Release, State, claims
from wrapper.backend.profile import Profile
from wrapper.events import ToolSpec

pytestmark = pytest.mark.anyio

UNBOUND = msgspec.structs.replace(QUIET, unbound_spares=1)
TOOL = ToolSpec(name="lookup", description="Look it up", input_schema={"type": "object"})
THIRD = Profile(system_prompt="answer in French", tools=(TOOL,))
FOURTH = Profile(system_prompt="answer in German")


def unbound(run: Running) -> list[PooledProcess]:
    return [m for m in run.members if m.unbound]


async def settled_steps() -> None:
    for _ in range(10):
        await anyio.lowlevel.checkpoint()


async def settled(run: Running) -> None:
    """Let the background work started so far (a refill) run to its end."""
    for _ in range(10):
        await anyio.lowlevel.checkpoint()
    await run.until(lambda: run.pool.members.starting == 0)


async def new_profile_turn(run: Running, profile: Profile = OTHER) -> PooledProcess:
    """A turn of ``profile`` taken and over (its process holds the conversation)."""
    member = await run.pool.take_clean(turn("hi"), profile, deadline())
    run.pool.release(member, Release.HOLD, digest=f"conv-{member.process.pid}")
    await settled(run)
    return member


async def test_a_new_profile_that_misses_keeps_an_unbound_spare_of_its_base() -> None:
    async with running(UNBOUND) as run:
        taken = await new_profile_turn(run)
        spare = unbound(run)[0]
        assert spare.profile == DEFAULT  # OTHER's base: no system prompt, no tools
        assert spare.state is State.CLEAN
        assert fake(spare).unbound and not fake(taken).unbound
        assert run.pool.stats()["unbound"] == 1


async def test_the_next_new_profile_of_the_base_binds_the_spare_instead_of_a_start() -> None:
    async with running(UNBOUND) as run:
        await new_profile_turn(run)
        spare = unbound(run)[0]
        started = len(run.processes.made)
        taken = await run.pool.take_clean(turn("bonjour"), THIRD, deadline())
        assert taken is spare
        assert taken.profile == THIRD and not taken.unbound
        assert fake(taken).bound == ("answer in French", ("lookup",))
        assert run.pool.stats()["bound_hits"] == 1
        # Its replacement is started once the bound turn is over.
        assert await run.pool.begin_turn(taken, turn("bonjour"))
        run.pool.release(taken, Release.HOLD, digest="conv-b")
        await settled(run)
        assert len(run.processes.made) == started + 1


async def test_the_spare_is_replaced_when_the_bound_turn_is_over_not_while_it_runs() -> None:
    async with running(UNBOUND) as run:
        await new_profile_turn(run)
        assert len(unbound(run)) == 1
        taken = await run.pool.take_clean(turn("bonjour"), THIRD, deadline())
        await settled(run)
        assert unbound(run) == []  # not while the bound turn runs
        run.pool.release(taken, Release.HOLD, digest="conv-1")
        await settled(run)
        assert len(unbound(run)) == 1
        assert taken.state is State.HELD


async def test_a_new_profile_waits_for_an_unbound_spare_being_started_rather_than_start_one() -> (
    None
):
    async with running(UNBOUND) as run:
        await new_profile_turn(run)
        fourth = await run.pool.take_clean(turn("hallo"), FOURTH, deadline())  # binds it
        run.processes.pause("start")
        run.pool.release(fourth, Release.HOLD, digest="conv-4")  # its refill starts now
        spare = await run.processes.reached("start")
        async with anyio.create_task_group() as group:
            made = len(run.processes.made)
            group.start_soon(run.pool.take_clean, turn("bonjour"), THIRD, deadline())
            await settled_steps()
            assert len(run.processes.made) == made  # it waits, starting nothing
            run.processes.resume("start")
        assert run.member_of(spare).profile == THIRD
        assert run.pool.stats()["bound_hits"] == 2


async def test_a_spare_start_that_hangs_holds_a_new_profile_up_only_briefly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(claims, "SPARE_WAIT_S", 0.01)
    async with running(UNBOUND) as run:
        await new_profile_turn(run)
        fourth = await run.pool.take_clean(turn("hallo"), FOURTH, deadline())  # binds it
        run.processes.pause("start")  # every start from now on hangs
        run.pool.release(fourth, Release.HOLD, digest="conv-4")
        await run.processes.reached("start")
        async with anyio.create_task_group() as group:
            group.start_soon(run.pool.take_clean, turn("bonjour"), THIRD, deadline())
            await run.until(lambda: len(run.processes.waiting("start")) == 2)  # its own
            run.processes.resume("start")
        assert run.pool.stats()["bound_hits"] == 1


async def test_a_known_profile_out_of_clean_processes_keeps_no_unbound_spare() -> None:
    async with running(UNBOUND) as run:
        await run.answered(OTHER)  # OTHER is known: it has a (busy) process
        await new_profile_turn(run)
        assert unbound(run) == []


async def test_a_default_turn_with_no_clean_process_binds_an_unbound_spare_too() -> None:
    async with running(UNBOUND) as run:
        await new_profile_turn(run)
        spare = unbound(run)[0]
        taken = await run.pool.take_clean(turn("hi"), DEFAULT, deadline())
        assert taken is spare
        assert fake(taken).bound == ("", ())


async def test_a_known_profile_that_binds_the_spare_starts_no_other() -> None:
    async with running(UNBOUND) as run:
        await run.pool.take_clean(turn("hi"), DEFAULT, deadline())  # still running
        await new_profile_turn(run)
        spare = unbound(run)[0]
        taken = await run.pool.take_clean(turn("hi"), DEFAULT, deadline())
        assert taken is spare
        made = len(run.processes.made)
        run.pool.release(taken, Release.HOLD, digest="conv-2")
        await settled(run)
        assert unbound(run) == []
        assert len(run.processes.made) == made


async def test_a_refused_binding_replaces_the_spare_and_starts_a_process() -> None:
    async with running(UNBOUND) as run:
        await new_profile_turn(run)
        spare = unbound(run)[0]
        fake(spare).bind_ok = False
        taken = await run.pool.take_clean(turn("bonjour"), THIRD, deadline())
        assert taken is not spare
        assert spare not in run.members
        assert taken.profile == THIRD and fake(taken).bound is None
        assert run.pool.stats()["bound_hits"] == 0


async def test_a_claim_given_up_while_binding_replaces_the_spare() -> None:
    async with running(UNBOUND) as run:
        await new_profile_turn(run)
        spare = unbound(run)[0]
        run.processes.pause("bind")
        async with anyio.create_task_group() as group:
            group.start_soon(run.pool.take_clean, turn("bonjour"), THIRD, deadline())
            await run.processes.reached("bind")
            group.cancel_scope.cancel()
        run.processes.resume("bind")
        assert spare not in run.members


async def test_claude_codes_own_tools_are_never_served_by_binding() -> None:
    agent = Profile(system_prompt="x", server_tools=True, claude_tools=("Read",))
    assert agent.base is None
    async with running(UNBOUND) as run:
        await new_profile_turn(run, agent)
        assert unbound(run) == []


async def test_with_every_process_busy_no_unbound_spare_is_started() -> None:
    settings = msgspec.structs.replace(UNBOUND, max_processes=1)
    async with running(settings) as run:
        await run.pool.take_clean(turn("hi"), OTHER, deadline())  # still running
        await run.pool.maintenance.top_up_unbound(DEFAULT)
        assert unbound(run) == []
        assert len(run.processes.made) == 1


async def test_at_the_cap_an_unbound_spare_takes_the_place_of_an_idle_process() -> None:
    settings = msgspec.structs.replace(UNBOUND, max_processes=2)
    async with running(settings) as run:
        held = await run.held("conv-1")
        await new_profile_turn(run)
        assert held not in run.members
        assert len(run.members) == 2


async def test_an_unbound_spare_never_takes_the_place_of_the_process_that_missed() -> None:
    settings = msgspec.structs.replace(UNBOUND, max_processes=1)
    async with running(settings) as run:
        member = await new_profile_turn(run)  # its follow-up will want it
        await run.pool.maintenance.once()
        assert member in run.members and member.state is State.HELD
        assert unbound(run) == []


async def test_an_unbound_spare_never_takes_the_place_of_a_longer_conversation() -> None:
    settings = msgspec.structs.replace(UNBOUND, max_processes=2)
    async with running(settings) as run:
        held = await run.held("conv-1")
        held.prefixes.append(("conv-0", "user-0"))  # two exchanges: a prefix may serve
        await run.pool.take_clean(turn("hi"), OTHER, deadline())
        await run.pool.maintenance.top_up_unbound(DEFAULT)
        assert held in run.members
        assert unbound(run) == []


async def test_while_held_conversations_go_unclaimed_a_longer_one_makes_room_for_a_spare() -> None:
    settings = msgspec.structs.replace(UNBOUND, max_processes=2)
    async with running(settings) as run:
        held = await run.held("conv-1")
        held.prefixes.append(("conv-0", "user-0"))
        run.pool.members.holding.observed = 10  # ten fates seen, none claimed
        member = await new_profile_turn(run)
        assert held not in run.members
        assert member in run.members
        assert len(unbound(run)) == 1


async def test_while_held_conversations_go_unclaimed_a_parked_turn_still_stays() -> None:
    settings = msgspec.structs.replace(UNBOUND, max_processes=2)
    async with running(settings) as run:
        parked = await run.parked("conv-1", "call-1")
        run.pool.members.holding.observed = 10
        await new_profile_turn(run)
        assert parked in run.members and parked.state is State.PARKED
        assert unbound(run) == []


async def test_a_longer_conversation_idle_for_a_minute_may_make_room_for_a_spare() -> None:
    settings = msgspec.structs.replace(UNBOUND, max_processes=2)
    async with running(settings) as run:
        held = await run.held("conv-1")
        held.prefixes.append(("conv-0", "user-0"))
        held.since -= 61.0
        await new_profile_turn(run)
        assert held not in run.members
        assert len(unbound(run)) == 1


async def test_an_unbound_spare_is_not_the_default_profiles_warm_process() -> None:
    settings = msgspec.structs.replace(UNBOUND, min_warm=1, max_processes=4)
    async with running(settings) as run:
        await run.until(lambda: run.count(State.CLEAN) == 1)  # the default profile's
        run.pool.members.holding.rate = 1.0
        await new_profile_turn(run)
        await run.pool.take_clean(turn("hi"), DEFAULT, deadline())  # the warm one
        await run.pool.maintenance.once()
        warm = [m for m in run.members if m.state is State.CLEAN and not m.unbound]
        assert [m.profile for m in warm] == [DEFAULT]


async def test_a_base_no_new_profile_came_for_a_while_keeps_no_spares() -> None:
    async with running(UNBOUND) as run:
        await new_profile_turn(run)
        spare = unbound(run)[0]
        bases = run.pool.maintenance._bases
        base, model, came = bases[DEFAULT.key]
        assert model == MODEL
        bases[DEFAULT.key] = (base, model, came - 10_000.0)
        spare.since -= 10_000.0
        await run.pool.maintenance.once()
        assert spare not in run.members
        assert DEFAULT.key not in bases
        assert unbound(run) == []


def test_a_profiles_base_is_all_but_its_system_prompt_and_client_tools() -> None:
    profile = Profile(system_prompt="s", tools=(TOOL,), max_output_tokens=99, effort="low")
    assert profile.base == Profile(system_prompt="", max_output_tokens=99, effort="low")
    search = ToolSpec(name="ToolSearch", description="", input_schema={"type": "object"})
    assert Profile(system_prompt="", tools=(search,)).base is None
