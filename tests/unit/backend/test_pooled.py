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
from tests.unit.backend.pool.running import MODEL, Running, fake, running, turn
from wrapper.backend.admission import Admission
from wrapper.backend.pool import State
from wrapper.backend.pooled import SEED_MAX_USER_MESSAGES, PooledBackend
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


async def test_a_conversation_no_process_holds_is_appended_to_a_warm_one() -> None:
    async with served() as serve:
        events = await serve.ask(turn("one", "two", "three"))
        assert text(events) == "reply 1"
        process = only_fake(serve)
        assert process.seeded == [
            [
                ("user", [{"type": "text", "text": "one"}]),
                ("assistant", [{"type": "text", "text": "two"}]),
            ]
        ]
        assert process.sent == [[{"type": "text", "text": "three"}]]
        assert serve.run.processes.spawned == []
        assert serve.run.pool.stats()["seeded_hits"] == 1
        assert serve.run.states() == [State.HELD]
        follow_up = await serve.ask(turn("one", "two", "three", "reply 1", "four"))
        assert text(follow_up) == "reply 2"
        assert serve.run.pool.stats()["affinity_hits"] == 1
        assert serve.settled()


async def test_a_conversation_the_cli_does_not_take_is_resumed_on_a_new_process() -> None:
    async with served() as serve:
        clean = await serve.run.clean()
        process = clean.process
        assert isinstance(process, FakeProcess)
        process.seed_ok = False
        events = await serve.ask(turn("one", "two", "three"))
        assert text(events) == "reply 1"
        assert len(serve.run.processes.spawned) == 1
        process = clean.process
        assert isinstance(process, FakeProcess)
        await serve.run.until(lambda: process.stopped)
        assert serve.run.pool.stats()["seeded_hits"] == 0
        assert serve.settled()


async def test_a_very_long_unseen_conversation_is_resumed_on_a_new_process() -> None:
    async with served() as serve:
        await serve.run.clean()
        texts = [f"m{n}" for n in range(2 * SEED_MAX_USER_MESSAGES + 1)]
        await serve.ask(turn(*texts))
        assert len(serve.run.processes.spawned) == 1
        assert all(
            not m.process.seeded for m in serve.run.members if isinstance(m.process, FakeProcess)
        )
        assert serve.settled()


async def test_a_very_long_conversation_back_from_elsewhere_appends_only_its_new_turns() -> None:
    async with served() as serve:
        texts = [f"m{n}" for n in range(2 * SEED_MAX_USER_MESSAGES + 1)]
        await serve.ask(turn(*texts))
        assert len(serve.run.processes.spawned) == 1
        resumed = only_fake(serve)
        back = await serve.ask(turn(*texts, "reply 1", "more", "answered elsewhere", "now"))
        assert text(back) == "reply 2"
        assert len(serve.run.processes.spawned) == 1
        assert resumed.seeded == [
            [
                ("user", [{"type": "text", "text": "more"}]),
                ("assistant", [{"type": "text", "text": "answered elsewhere"}]),
            ]
        ]
        assert serve.run.pool.stats()["shared_hits"] == 1
        assert serve.settled()


async def test_a_turn_cancelled_while_its_history_is_appended_replaces_the_process() -> None:
    async with served() as serve:
        clean = await serve.run.clean()
        serve.run.processes.pause("seed")
        async with anyio.create_task_group() as group:
            group.start_soon(serve.ask, turn("one", "two", "three"))
            await serve.run.processes.reached("seed")
            group.cancel_scope.cancel()
        serve.run.processes.resume("seed")
        await serve.run.until(serve.settled)
        process = clean.process
        assert isinstance(process, FakeProcess)
        await serve.run.until(lambda: process.stopped)


async def test_a_turn_cancelled_while_rewinding_to_a_shared_start_replaces_the_process() -> None:
    async with served() as serve:
        await serve.ask(turn("example", "answer", "question 1"))
        await serve.ask(turn("example", "answer", "question 2"))
        process = only_fake(serve)
        serve.run.processes.pause("rewind")
        async with anyio.create_task_group() as group:
            group.start_soon(serve.ask, turn("example", "answer", "question 1", "reply 1", "more"))
            await serve.run.processes.reached("rewind")
            group.cancel_scope.cancel()
        serve.run.processes.resume("rewind")
        await serve.run.until(serve.settled)
        await serve.run.until(lambda: process.stopped)
        assert serve.run.pool.stats()["shared_hits"] == 0


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


def only_fake(serve: Served) -> FakeProcess:
    [member] = serve.run.members
    assert isinstance(member.process, FakeProcess)
    return member.process


async def test_a_few_shot_prompt_is_served_by_rewinding_the_process_that_holds_its_examples() -> (
    None
):
    async with served() as serve:
        await serve.ask(turn("example question", "example answer", "question 1"))
        process = only_fake(serve)
        assert serve.run.states() == [State.HELD]
        second = await serve.ask(turn("example question", "example answer", "question 2"))
        assert text(second) == "reply 2"
        # Back to just before "question 1" (the second user message it was given).
        assert process.rewinds == [f"user-{process.pid}-1"]
        assert process.sent[-1] == [{"type": "text", "text": "question 2"}]
        question_2 = process.user_ids[-1]
        await serve.ask(turn("example question", "example answer", "question 3"))
        assert process.rewinds == [f"user-{process.pid}-1", question_2]
        stats = serve.run.pool.stats()
        assert (stats["seeded_hits"], stats["prefix_hits"], stats["affinity_hits"]) == (1, 2, 0)
        assert serve.settled()


async def test_a_regenerated_last_message_rewinds_the_conversation() -> None:
    async with served() as serve:
        await serve.ask(turn("hi"))
        await serve.ask(turn("hi", "reply 1", "more"))
        process = only_fake(serve)
        sent_more = process.user_ids[-1]
        again = await serve.ask(turn("hi", "reply 1", "something else"))
        assert text(again) == "reply 3"
        assert process.rewinds == [sent_more]
        assert serve.run.pool.stats()["spawned"] == 1
        assert serve.run.pool.stats()["prefix_hits"] == 1


async def test_a_chat_under_shared_examples_is_rewound_to_them_and_its_own_turns_appended() -> None:
    examples = ("example question", "example answer")
    async with served() as serve:
        await serve.ask(turn(*examples, "question 1"))
        process = only_fake(serve)
        # Another client's question takes the process: rewound to the examples.
        await serve.ask(turn(*examples, "question 2"))
        question_2 = process.user_ids[-1]
        # The first client's follow-up: its own turns are no longer held, the examples are.
        third = await serve.ask(turn(*examples, "question 1", "reply 1", "more"))
        assert text(third) == "reply 3"
        assert process.rewinds[-1] == question_2
        assert process.seeded[-1] == [
            ("user", [{"type": "text", "text": "question 1"}]),
            ("assistant", [{"type": "text", "text": "reply 1"}]),
        ]
        assert process.sent[-1] == [{"type": "text", "text": "more"}]
        stats = serve.run.pool.stats()
        assert (stats["shared_hits"], stats["seeded_hits"], stats["spawned"]) == (1, 1, 1)
        # It holds that whole conversation now, and each of its user messages is a target.
        await serve.ask(turn(*examples, "question 1", "reply 1", "more", "reply 3", "last"))
        assert serve.run.pool.stats()["affinity_hits"] == 1
        await serve.ask(turn(*examples, "question 3"))
        assert serve.run.pool.stats()["prefix_hits"] == 2
        assert serve.settled()


async def test_a_conversation_that_went_on_elsewhere_appends_only_what_the_process_lacks() -> None:
    async with served() as serve:
        await serve.ask(turn("hi"))
        process = only_fake(serve)
        rewinds = list(process.rewinds)
        back = await serve.ask(turn("hi", "reply 1", "more", "answered elsewhere", "and now"))
        assert text(back) == "reply 2"
        assert process.rewinds == rewinds
        assert process.seeded[-1] == [
            ("user", [{"type": "text", "text": "more"}]),
            ("assistant", [{"type": "text", "text": "answered elsewhere"}]),
        ]
        assert process.sent[-1] == [{"type": "text", "text": "and now"}]
        assert serve.run.pool.stats()["shared_hits"] == 1
        assert serve.run.processes.spawned == []
        assert serve.settled()


async def test_a_held_start_is_taken_over_a_clean_process_and_an_unshared_history_is_not() -> None:
    async with served() as serve:
        await serve.ask(turn("a", "b", "c"))
        short = only_fake(serve)
        clean = await serve.run.clean()
        await serve.ask(turn("a", "b", "c", "reply 1", "d", "e", "f"))
        assert short.seeded[-1] == [
            ("user", [{"type": "text", "text": "d"}]),
            ("assistant", [{"type": "text", "text": "e"}]),
        ]
        assert fake(clean).seeded == []
        # Nothing held shares its start: appended whole to the clean process.
        await serve.ask(turn("x", "y", "z"))
        assert fake(clean).seeded[-1][0] == ("user", [{"type": "text", "text": "x"}])
        assert serve.run.pool.stats()["shared_hits"] == 1
        assert serve.settled()


@pytest.mark.parametrize(("claim_rate", "rewound"), [(1.0, False), (0.0, True)])
async def test_a_short_shared_start_drops_a_longer_held_conversation_only_when_it_pays(
    claim_rate: float, rewound: bool
) -> None:
    async with served() as serve:
        await serve.ask(turn("hi", "hello", "q1"))
        await serve.ask(turn("hi", "hello", "q1", "reply 1", "q2"))
        process = only_fake(serve)
        clean = await serve.run.clean()
        # One user message shared; the rewind would drop two ("q1", "q2"), which come
        # back at the claim rate.
        serve.run.pool.members.holding.rate = claim_rate
        await serve.ask(turn("hi", "hello", "other", "its reply", "next"))
        if rewound:
            assert len(process.rewinds) == 1
            assert process.seeded[-1] == [
                ("user", [{"type": "text", "text": "other"}]),
                ("assistant", [{"type": "text", "text": "its reply"}]),
            ]
            assert fake(clean).seeded == []
            assert serve.run.pool.stats()["shared_hits"] == 1
        else:
            assert process.rewinds == []
            assert len(fake(clean).seeded[-1]) == 4
            assert serve.run.pool.stats()["shared_hits"] == 0
        assert serve.settled()


async def test_a_refused_rewind_to_a_shared_start_appends_the_whole_history_elsewhere() -> None:
    examples = ("example question", "example answer")
    async with served() as serve:
        await serve.ask(turn(*examples, "question 1"))
        await serve.ask(turn(*examples, "question 2"))
        process = only_fake(serve)
        process.rewind_ok = False
        third = await serve.ask(turn(*examples, "question 1", "reply 1", "more"))
        assert text(third) == "reply 3"
        assert process.clears == 1
        assert process.seeded[-1][0] == ("user", [{"type": "text", "text": "example question"}])
        assert len(process.seeded[-1]) == 4
        stats = serve.run.pool.stats()
        assert (stats["shared_hits"], stats["seeded_hits"], stats["spawned"]) == (0, 2, 1)
        assert serve.settled()


async def test_a_refused_rewind_clears_the_process_and_appends_the_conversation_again() -> None:
    async with served() as serve:
        await serve.ask(turn("example question", "example answer", "question 1"))
        process = only_fake(serve)
        process.rewind_ok = False
        second = await serve.ask(turn("example question", "example answer", "question 2"))
        assert text(second) == "reply 2"
        assert process.clears == 1
        assert len(process.seeded) == 2
        assert serve.run.processes.spawned == []
        assert serve.settled()
