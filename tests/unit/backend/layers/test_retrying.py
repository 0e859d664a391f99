"""Retries before any output, backoff with jitter, the time budget and the fallback model."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import msgspec
import pytest

from tests.fakes.backend import Call, FakeBackend, Step, hang, text_events
from wrapper.backend.layers.retrying import RetryingBackend, backoff_delay, retry_reason
from wrapper.config import RetrySettings
from wrapper.errors import (
    BackendTimeoutError,
    BackendUnavailableError,
    InvalidRequestError,
    UpstreamAuthenticationError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamRateLimitedError,
    WrapperError,
)
from wrapper.events import AgentEvent, Message, MessageStart, TextDelta, TextPart, Turn, TurnEnd

pytestmark = pytest.mark.anyio

TURN = Turn(model="claude-big", messages=(Message(role="user", content=(TextPart("hi"),)),))
FALLBACK = "claude-small"


def overloaded() -> UpstreamOverloadedError:
    return UpstreamOverloadedError("Claude's API is overloaded: Overloaded", retry_after=30)


def server_error(status: int | None = 500) -> UpstreamError:
    return UpstreamError("Claude's API failed", upstream_status=status, code="upstream_error")


class Clock:
    """Fake time: ``sleep`` advances it instantly and records the waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    async def advance(self, seconds: float) -> None:
        self.now += seconds


class Counters:
    def __init__(self) -> None:
        self.retries: list[str] = []
        self.fallbacks = 0

    def fallback(self) -> None:
        self.fallbacks += 1


def retrying(
    *scripts: Sequence[Step],
    timeout_s: float = 600.0,
    draw: float = 0.5,
    clock: Clock | None = None,
    **policy: object,
) -> tuple[RetryingBackend, FakeBackend, Clock, Counters]:
    inner = FakeBackend(*scripts)
    clock = clock or Clock()
    counters = Counters()
    backend = RetryingBackend(
        inner,
        msgspec.structs.replace(RetrySettings(), **policy),
        timeout_s=timeout_s,
        on_retry=counters.retries.append,
        on_fallback=counters.fallback,
        sleep=clock.sleep,
        clock=clock,
        draw=lambda: draw,
    )
    return backend, inner, clock, counters


async def drain(backend: RetryingBackend, turn: Turn = TURN) -> list[AgentEvent]:
    async with backend.open(turn) as events:
        return [event async for event in events]


async def read_into(backend: RetryingBackend, received: list[AgentEvent]) -> None:
    """Read the turn's events into ``received`` as a stream's consumer does."""
    async with backend.open(TURN) as events:
        async for event in events:
            received.append(event)


def texts(events: list[AgentEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (overloaded(), "overloaded"),
        (server_error(500), "server_error"),
        (server_error(503), "server_error"),
        (server_error(None), "connection"),
        (UpstreamError("Claude's API failed", upstream_status=400, code="upstream_error"), None),
        (UpstreamError("The Claude CLI ended", code="cli_exited"), None),
        (UpstreamError("over budget", code="cpu_budget_exceeded"), None),
        (UpstreamError("steps", code="max_turns"), None),
        (UpstreamRateLimitedError("slow down", retry_after=30), None),
        (UpstreamAuthenticationError("bad key"), None),
        (BackendTimeoutError("too long"), None),
        (BackendUnavailableError("busy", code="queue_timeout"), None),
        (InvalidRequestError("bad"), None),
    ],
)
def test_what_is_worth_a_retry(error: WrapperError, reason: str | None) -> None:
    assert retry_reason(error) == reason


@pytest.mark.parametrize(
    ("retry", "draw", "expected"),
    [(1, 0.0, 0.25), (1, 1.0, 0.5), (2, 0.0, 0.5), (3, 0.5, 1.5), (6, 1.0, 8.0), (6, 0.0, 4.0)],
)
def test_backoff_doubles_is_capped_and_half_of_it_is_random(
    retry: int, draw: float, expected: float
) -> None:
    assert backoff_delay(RetrySettings(base_s=0.5, max_s=8.0), retry, draw) == pytest.approx(
        expected
    )


async def test_an_overload_before_output_is_retried_once_and_the_reply_comes_once() -> None:
    backend, inner, clock, counters = retrying([overloaded()], text_events("o", "k"))
    events = await drain(backend)
    assert texts(events) == "ok"
    assert len(inner.turns) == 2
    assert inner.exits == ["error", "normal"]  # the failed attempt's context was closed
    assert counters.retries == ["overloaded"]
    assert clock.waits == [pytest.approx(0.375)]  # base 0.5: a quarter fixed + half the rest


async def test_server_errors_and_lost_connections_are_retried_until_the_retries_run_out() -> None:
    backend, inner, clock, counters = retrying(
        [server_error(502)], [server_error(None)], [server_error(500)], retries=2, draw=0.0
    )
    with pytest.raises(UpstreamError) as caught:
        await drain(backend)
    assert caught.value.upstream_status == 500  # the last attempt's error is the answer
    assert len(inner.turns) == 3
    assert counters.retries == ["server_error", "connection"]
    assert clock.waits == [pytest.approx(0.25), pytest.approx(0.5)]


async def test_a_failure_after_the_first_event_is_never_retried() -> None:
    partial = text_events("half", "way")[:3]  # message start, block start, one delta
    backend, inner, _, counters = retrying([*partial, overloaded()], text_events("again"))
    received: list[AgentEvent] = []
    with pytest.raises(UpstreamOverloadedError):
        await read_into(backend, received)
    assert texts(received) == "half"  # no duplicate, no second attempt's text
    assert len(inner.turns) == 1
    assert counters.retries == []


async def test_a_failure_after_message_start_is_not_retried() -> None:
    backend, inner, _, _ = retrying([MessageStart(model="claude-big"), overloaded()])
    with pytest.raises(UpstreamOverloadedError):
        await drain(backend)
    assert len(inner.turns) == 1


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequestError("bad"),
        UpstreamRateLimitedError("slow down", retry_after=30),
        BackendTimeoutError("too long"),
        UpstreamError("The Claude CLI ended", code="cli_exited"),
    ],
)
async def test_other_failures_are_not_retried(error: WrapperError) -> None:
    backend, inner, clock, _ = retrying([error], text_events("never"))
    with pytest.raises(type(error)):
        await drain(backend)
    assert len(inner.turns) == 1
    assert clock.waits == []


async def test_retries_zero_means_no_retry() -> None:
    backend, inner, _, _ = retrying([overloaded()], text_events("never"), retries=0)
    with pytest.raises(UpstreamOverloadedError):
        await drain(backend)
    assert len(inner.turns) == 1


async def test_the_fallback_model_answers_after_repeated_overloads() -> None:
    backend, inner, _, counters = retrying(
        [overloaded()],
        [overloaded()],
        text_events("small", model=FALLBACK),
        fallback_model=FALLBACK,
        fallback_after_overloads=2,
    )
    events = await drain(backend)
    assert [turn.model for turn in inner.turns] == ["claude-big", "claude-big", FALLBACK]
    assert inner.turns[2].messages == TURN.messages  # the same conversation
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert end.model == FALLBACK  # the response reports the model that answered
    assert counters.retries == ["overloaded", "overloaded"]
    assert counters.fallbacks == 1


async def test_the_fallback_gets_its_attempt_even_when_the_retries_are_used_up() -> None:
    backend, inner, _, counters = retrying(
        [overloaded()],
        text_events("small", model=FALLBACK),
        retries=0,
        fallback_model=FALLBACK,
        fallback_after_overloads=1,
    )
    await drain(backend)
    assert [turn.model for turn in inner.turns] == ["claude-big", FALLBACK]
    assert counters.fallbacks == 1


async def test_server_errors_do_not_count_towards_the_fallback() -> None:
    backend, inner, _, counters = retrying(
        [overloaded()],
        [server_error()],
        text_events("big"),
        fallback_model=FALLBACK,
        fallback_after_overloads=2,
    )
    await drain(backend)
    assert [turn.model for turn in inner.turns] == ["claude-big"] * 3
    assert counters.fallbacks == 0


async def test_no_fallback_to_the_model_that_was_asked_for() -> None:
    backend, inner, _, counters = retrying(
        [overloaded()],
        [overloaded()],
        [overloaded()],
        fallback_model="claude-big",
        fallback_after_overloads=1,
    )
    with pytest.raises(UpstreamOverloadedError):
        await drain(backend)
    assert [turn.model for turn in inner.turns] == ["claude-big"] * 3
    assert counters.fallbacks == 0


async def test_a_failing_fallback_is_not_counted_as_used() -> None:
    backend, inner, _, counters = retrying(
        [overloaded()],
        [overloaded()],
        retries=0,
        fallback_model=FALLBACK,
        fallback_after_overloads=1,
    )
    with pytest.raises(UpstreamOverloadedError):
        await drain(backend)
    assert [turn.model for turn in inner.turns] == ["claude-big", FALLBACK]
    assert counters.fallbacks == 0


async def test_no_retry_without_enough_time_left_in_the_turn() -> None:
    # A 3 s budget; the first attempt takes 1.2 s. After the first wait (0.5 s) 1.3 s
    # are left, enough for an attempt; after the second (1 s) only 0.3 s would be.
    clock = Clock()
    backend, inner, _, _ = retrying(
        [Call(lambda: clock.advance(1.2)), overloaded()],
        [overloaded()],
        text_events("late"),
        timeout_s=3.0,
        draw=1.0,
        clock=clock,
    )
    with pytest.raises(UpstreamOverloadedError):
        await drain(backend)
    assert len(inner.turns) == 2
    assert clock.waits == [pytest.approx(0.5)]


async def test_a_retried_attempt_is_cut_at_the_turns_original_deadline() -> None:
    inner = FakeBackend([overloaded()], [MessageStart(model="claude-big"), hang()])
    backend = RetryingBackend(
        inner, RetrySettings(base_s=0.001), timeout_s=0.3, min_attempt_s=0.05, draw=lambda: 0.0
    )
    received: list[AgentEvent] = []
    with pytest.raises(BackendTimeoutError) as caught:
        await read_into(backend, received)
    assert "MAX_TIMEOUT (300 ms)" in caught.value.message
    assert isinstance(received[0], MessageStart)
    assert inner.open_turns == 0


async def test_a_retried_attempt_that_never_starts_is_cut_too() -> None:
    inner = FakeBackend([overloaded()], [hang()])
    backend = RetryingBackend(
        inner, RetrySettings(base_s=0.001), timeout_s=0.3, min_attempt_s=0.05, draw=lambda: 0.0
    )
    with pytest.raises(BackendTimeoutError):
        await drain(backend)
    assert inner.exits == ["error", "error"]  # closed with the timeout error


async def test_cancelled_during_the_backoff_leaves_no_turn_open() -> None:
    inner = FakeBackend([overloaded()], text_events("never"))
    backend = RetryingBackend(inner, RetrySettings(base_s=60.0), timeout_s=600)
    with anyio.move_on_after(0.05):
        await drain(backend)
    assert len(inner.turns) == 1
    assert inner.open_turns == 0


async def test_an_empty_turn_passes_through() -> None:
    backend, inner, _, _ = retrying([])
    assert await drain(backend) == []
    assert inner.exits == ["normal"]


async def test_the_consumer_leaving_early_closes_the_attempt() -> None:
    backend, inner, _, _ = retrying([overloaded()], text_events("a", "b", "c"))
    async with backend.open(TURN) as events:
        async for _ in events:
            break
    assert inner.exits == ["error", "normal"]
    assert inner.open_turns == 0
