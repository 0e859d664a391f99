"""The observed backend: tokens, cost, time to first token, failures, the login, the record."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest

from tests.fakes.backend import FakeBackend, Step, hang, text_events
from tests.unit.monitoring.test_metrics import samples
from wrapper.backend.layers.observed import ObservedBackend
from wrapper.errors import UpstreamAuthenticationError, UpstreamOverloadedError, WrapperError
from wrapper.events import AgentEvent, Message, TextPart, Turn, TurnEnd, Usage
from wrapper.monitoring.metrics import Metrics
from wrapper.upstream.login import CliLoginHealth

pytestmark = pytest.mark.anyio

TURN = Turn(model="claude-x", messages=(Message(role="user", content=(TextPart("hi"),)),))


def with_cost(cost: float) -> list[AgentEvent]:
    events = text_events(
        "Hel",
        "lo",
        model="claude-x",
        usage=Usage(input_tokens=7, output_tokens=2, cache_read_input_tokens=3),
    )
    end = events[-1]
    assert isinstance(end, TurnEnd)
    events[-1] = TurnEnd(stop_reason="end_turn", usage=end.usage, model="claude-x", cost_usd=cost)
    return events


def observed(*scripts: Sequence[Step]) -> tuple[ObservedBackend, Metrics, CliLoginHealth]:
    metrics = Metrics()
    login = CliLoginHealth(gated=True, probe_interval_s=600)
    return ObservedBackend(FakeBackend(*scripts), metrics, login), metrics, login


async def drain(backend: ObservedBackend) -> list[AgentEvent]:
    async with backend.open(TURN) as events:
        return [event async for event in events]


async def test_completed_turns_count_tokens_cost_and_the_first_token() -> None:
    backend, metrics, login = observed(with_cost(0.0125), with_cost(0.0025))
    events = await drain(backend)
    await drain(backend)
    assert isinstance(events[-1], TurnEnd)  # events pass through unchanged
    found = samples(metrics)
    p = "claude_wrapper"
    assert found[(f"{p}_tokens_total", (("kind", "input"), ("model", "claude-x")))] == 14
    assert found[(f"{p}_tokens_total", (("kind", "output"), ("model", "claude-x")))] == 4
    assert found[(f"{p}_tokens_total", (("kind", "cache_read"), ("model", "claude-x")))] == 6
    assert found[(f"{p}_cost_usd_total", (("model", "claude-x"),))] == pytest.approx(0.015)
    assert found[(f"{p}_time_to_first_token_seconds_count", ())] == 2
    assert found[(f"{p}_turns_total", (("outcome", "completed"),))] == 2
    assert login.ok is True


async def test_a_failed_turn_is_counted_by_type() -> None:
    overloaded = UpstreamOverloadedError("busy")
    backend, metrics, login = observed([*with_cost(0.1)[:2], overloaded])
    with pytest.raises(UpstreamOverloadedError):
        await drain(backend)
    found = samples(metrics)
    assert found[("claude_wrapper_upstream_errors_total", (("type", "upstream_overloaded"),))] == 1
    assert found[("claude_wrapper_turns_total", (("outcome", "failed"),))] == 1
    assert login.ok is None


async def test_a_credentials_rejection_marks_the_login() -> None:
    backend, _, login = observed([UpstreamAuthenticationError("rejected")])
    with pytest.raises(WrapperError):
        await drain(backend)
    assert login.ok is False
    assert login.status().error_kind == "upstream_rejected"
    assert login.is_lost()


async def test_a_cancelled_turn_is_counted_as_cancelled() -> None:
    backend, metrics, _ = observed([*with_cost(0.1)[:2], hang()])
    with anyio.move_on_after(0.05):
        await drain(backend)
    found = samples(metrics)
    assert found[("claude_wrapper_turns_total", (("outcome", "cancelled"),))] == 1
