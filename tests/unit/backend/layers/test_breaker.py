"""The circuit breaker: its state machine (injected clock, no sleeps) and the Backend wrapper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import anyio
import msgspec
import pytest

from tests.fakes.backend import FakeBackend, Step, hang, text_events
from wrapper.backend.layers.breaker import (
    BreakerBackend,
    CircuitBreaker,
    counts_as_failure,
)
from wrapper.config import BreakerSettings
from wrapper.errors import (
    BackendTimeoutError,
    BackendUnavailableError,
    InternalError,
    InvalidRequestError,
    RateLimitedError,
    UpstreamAuthenticationError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamRateLimitedError,
    WrapperError,
)
from wrapper.events import AgentEvent, Message, TextPart, Turn

TURN = Turn(model="claude-x", messages=(Message(role="user", content=(TextPart("hi"),)),))


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **overrides: object) -> CircuitBreaker:
    values: dict[str, object] = {
        "window_s": 60.0,
        "threshold": 0.5,
        "min_requests": 4,
        "open_s": 30.0,
    }
    values.update(overrides)
    return CircuitBreaker(msgspec.structs.replace(BreakerSettings(), **values), clock=clock)


def refused(cb: CircuitBreaker) -> BackendUnavailableError:
    with pytest.raises(BackendUnavailableError) as caught:
        cb.admit()
    assert caught.value.code == "circuit_open"
    return caught.value


def trip(cb: CircuitBreaker) -> None:
    for failed in (False, True, False, True):
        assert cb.admit() is False
        cb.record(failed)


@pytest.mark.parametrize(
    ("error", "counted"),
    [
        (UpstreamError("5xx", upstream_status=500, code="upstream_error"), True),
        (UpstreamError("gone", code="cli_exited"), True),
        (UpstreamError("cpu", code="cpu_budget_exceeded"), True),
        (UpstreamOverloadedError("overloaded"), True),
        (BackendTimeoutError("slow"), True),
        (UpstreamError("steps", code="max_turns"), False),
        (UpstreamError("budget", code="max_budget"), False),
        (UpstreamError("schema", code="structured_output_failed"), False),
        (InvalidRequestError("bad"), False),
        (UpstreamAuthenticationError("login"), False),
        (UpstreamRateLimitedError("slow down"), False),
        (RateLimitedError("ours"), False),
        (BackendUnavailableError("busy", code="queue_timeout"), False),
        (BackendUnavailableError("open", code="circuit_open"), False),
        (InternalError("bug"), False),
    ],
)
def test_which_failures_count(error: WrapperError, counted: bool) -> None:
    assert counts_as_failure(error) is counted


def test_it_stays_closed_below_the_minimum_number_of_requests() -> None:
    clock = Clock()
    cb = breaker(clock)
    for _ in range(3):
        cb.admit()
        cb.record(True)
    assert cb.state == "closed"
    cb.admit()


def test_it_stays_closed_below_the_threshold() -> None:
    clock = Clock()
    cb = breaker(clock, threshold=0.75)
    trip(cb)  # 2 of 4 failed: 50 %
    assert cb.state == "closed"


def test_it_opens_at_the_threshold_and_tells_the_real_time_left() -> None:
    clock = Clock()
    cb = breaker(clock)
    trip(cb)
    assert cb.state == "open"
    assert cb.is_open
    assert refused(cb).retry_after == pytest.approx(30.0)
    clock.now += 12.5
    error = refused(cb)
    assert error.retry_after == pytest.approx(17.5)
    assert ("retry-after", "18") in error.response_headers()
    assert cb.status().retry_after_seconds == pytest.approx(17.5)
    assert cb.rejected == 2


def test_after_the_open_time_one_probe_goes_through() -> None:
    clock = Clock()
    cb = breaker(clock)
    trip(cb)
    clock.now += 30.0
    assert cb.state == "half_open"
    assert cb.admit() is True  # the probe
    assert refused(cb).retry_after == pytest.approx(1.0)  # others wait for it


def test_a_successful_probe_closes_it_with_a_fresh_window() -> None:
    clock = Clock()
    cb = breaker(clock)
    trip(cb)
    clock.now += 31.0
    assert cb.admit() is True
    cb.record(False, probe=True)
    assert cb.state == "closed"
    assert not cb.is_open
    assert cb.status().requests_in_window == 0
    assert cb.admit() is False


def test_a_failed_probe_opens_it_again_for_the_whole_open_time() -> None:
    clock = Clock()
    cb = breaker(clock)
    trip(cb)
    clock.now += 31.0
    assert cb.admit() is True
    cb.record(True, probe=True)
    assert cb.state == "open"
    assert refused(cb).retry_after == pytest.approx(30.0)
    assert cb.times_opened == 2


def test_a_probe_without_an_outcome_hands_over_to_the_next_turn() -> None:
    clock = Clock()
    cb = breaker(clock)
    trip(cb)
    clock.now += 31.0
    assert cb.admit() is True
    cb.abandon_probe()
    assert cb.admit() is True


def test_outcomes_leave_the_window() -> None:
    clock = Clock()
    cb = breaker(clock)
    for _ in range(3):
        cb.admit()
        cb.record(True)
    clock.now += 61.0  # those three failures are out of the window
    cb.admit()
    cb.record(True)
    assert cb.state == "closed"
    assert cb.status().failures_in_window == 1


def test_late_outcomes_of_turns_admitted_before_it_opened_change_nothing() -> None:
    clock = Clock()
    cb = breaker(clock)
    trip(cb)
    cb.record(False)
    assert cb.state == "open"


def test_disabled_it_never_refuses() -> None:
    clock = Clock()
    cb = breaker(clock, enabled=False, min_requests=1)
    for _ in range(5):
        assert cb.admit() is False
        cb.record(True)
    assert cb.state == "closed"
    assert cb.status().enabled is False


# ------------------------------------------------------------------------------------
# The Backend wrapper: one outcome per turn, streams included.


class Opening:
    """A backend whose ``open`` itself fails with ``error``."""

    def __init__(self, error: WrapperError) -> None:
        self.error = error

    def open(self, turn: Turn) -> Opening:
        return self

    async def __aenter__(self) -> AsyncIterator[AgentEvent]:
        raise self.error

    async def __aexit__(self, *exc_info: object) -> None:
        return None


async def drain(backend: BreakerBackend) -> list[AgentEvent]:
    async with backend.open(TURN) as events:
        return [event async for event in events]


def wrapped(*scripts: Sequence[Step], **overrides: object) -> tuple[BreakerBackend, CircuitBreaker]:
    cb = breaker(Clock(), min_requests=2, **overrides)
    return BreakerBackend(FakeBackend(*scripts), cb), cb


@pytest.mark.anyio
async def test_failed_turns_open_it_and_then_turns_are_refused_without_the_backend() -> None:
    failure = UpstreamError("5xx", upstream_status=500, code="upstream_error")
    inner = FakeBackend([failure])
    cb = breaker(Clock(), min_requests=2)
    backend = BreakerBackend(inner, cb)
    for _ in range(2):
        with pytest.raises(UpstreamError):
            await drain(backend)
    with pytest.raises(BackendUnavailableError):
        await drain(backend)
    assert len(inner.turns) == 2


@pytest.mark.anyio
async def test_a_stream_that_completes_counts_as_a_success() -> None:
    backend, cb = wrapped(text_events("fine"))
    async with backend.open(TURN) as events:
        async for _ in events:
            pass  # a stream's consumer reads event by event
    assert cb.status().requests_in_window == 1
    assert cb.status().failures_in_window == 0


@pytest.mark.anyio
async def test_a_stream_that_fails_midway_counts_as_a_failure() -> None:
    overloaded = UpstreamOverloadedError("overloaded")
    backend, cb = wrapped([*text_events("half")[:3], overloaded])
    with pytest.raises(UpstreamOverloadedError):
        await drain(backend)
    assert cb.status().failures_in_window == 1


@pytest.mark.anyio
async def test_a_failure_to_open_counts_when_it_is_the_upstreams() -> None:
    cb = breaker(Clock(), min_requests=2)
    with pytest.raises(UpstreamError):
        await drain(BreakerBackend(Opening(UpstreamError("x", code="cli_process_failed")), cb))
    with pytest.raises(BackendUnavailableError):
        await drain(BreakerBackend(Opening(BackendUnavailableError("busy")), cb))
    assert cb.status().requests_in_window == 1


@pytest.mark.anyio
async def test_client_errors_disconnects_and_abandoned_streams_do_not_count() -> None:
    backend, cb = wrapped([InvalidRequestError("bad")], [hang()], text_events("a", "b"))
    with pytest.raises(InvalidRequestError):
        await drain(backend)
    with anyio.move_on_after(0.05):  # the client went away mid-turn
        await drain(backend)
    async with backend.open(TURN) as events:  # the consumer stopped reading early
        async for _ in events:
            break
    assert cb.status().requests_in_window == 0


async def fail_while_reading(backend: BreakerBackend) -> None:
    async with backend.open(TURN) as events:
        async for _ in events:
            raise UpstreamError("the consumer's own", code="upstream_error")


@pytest.mark.anyio
async def test_an_error_the_consumer_raises_is_not_the_backends() -> None:
    backend, cb = wrapped(text_events("a", "b"))
    with pytest.raises(UpstreamError):
        await fail_while_reading(backend)
    assert cb.status().requests_in_window == 0


@pytest.mark.anyio
async def test_the_probe_closes_it_through_the_wrapper() -> None:
    clock = Clock()
    cb = breaker(clock, min_requests=1)
    failure = UpstreamError("5xx", upstream_status=502, code="upstream_error")
    backend = BreakerBackend(FakeBackend([failure], text_events("back")), cb)
    with pytest.raises(UpstreamError):
        await drain(backend)
    assert cb.state == "open"
    clock.now += 30.0
    await drain(backend)
    assert cb.status().state == "closed"  # read afresh: mypy keeps ``cb.state`` narrowed to "open"
