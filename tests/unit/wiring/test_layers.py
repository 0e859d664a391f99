"""Assembling the resilience layers from Settings, and the backend gauges they feed."""

from __future__ import annotations

import anyio
import pytest

from tests.fakes.backend import FakeBackend, text_events
from tests.unit.monitoring.test_metrics import samples
from wrapper.backend.admission import Admission
from wrapper.backend.layers.breaker import BreakerBackend
from wrapper.backend.layers.cpu_budget import CpuBudgetBackend
from wrapper.backend.layers.retrying import RetryingBackend
from wrapper.config import BreakerSettings, ConfigError, RetrySettings, Settings, load_settings
from wrapper.errors import UpstreamError
from wrapper.events import Message, TextPart, Turn
from wrapper.monitoring.metrics import Metrics
from wrapper.sessions.records import SessionStats
from wrapper.wiring.layers import feed_backend_gauges, guard_cpu, make_resilient

P = "claude_wrapper"
TURN = Turn(model="claude-x", messages=(Message(role="user", content=(TextPart("hi"),)),))


def test_the_settings_and_their_defaults() -> None:
    settings = load_settings({})
    assert settings.retry.retries == 2
    assert settings.retry.fallback_model is None
    assert settings.breaker.enabled is True
    assert settings.breaker.threshold == 0.75
    assert settings.max_turn_cpu_s == 120.0
    custom = load_settings(
        {
            "FALLBACK_MODEL": "claude-haiku-4-5",
            "WRAPPER_CIRCUIT_BREAKER_THRESHOLD": "1",
            "MAX_TURN_CPU_SECONDS": "0",
            "UPSTREAM_RETRIES": "0",
        }
    )
    assert custom.retry.fallback_model == "claude-haiku-4-5"
    assert custom.breaker.threshold == 1.0
    assert custom.max_turn_cpu_s == 0.0
    assert custom.retry.retries == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WRAPPER_CIRCUIT_BREAKER_THRESHOLD", "0"),
        ("WRAPPER_CIRCUIT_BREAKER_THRESHOLD", "1.5"),
        ("WRAPPER_CIRCUIT_BREAKER_MIN_REQUESTS", "0"),
        ("UPSTREAM_RETRIES", "-1"),
        ("FALLBACK_AFTER_OVERLOADS", "0"),
        ("MAX_TURN_CPU_SECONDS", "-2"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_the_layers_by_default() -> None:
    inner = FakeBackend(text_events("x"))
    metrics = Metrics()
    resilience = make_resilient(Settings(), inner, metrics)
    assert isinstance(resilience.backend, BreakerBackend)
    assert isinstance(resilience.backend.inner, RetryingBackend)
    assert resilience.backend.inner.inner is inner
    assert resilience.backend.inner.policy.retries == 2


def test_layers_that_are_off_are_left_out() -> None:
    inner = FakeBackend(text_events("x"))
    settings = Settings(retry=RetrySettings(retries=0), breaker=BreakerSettings(enabled=False))
    resilience = make_resilient(settings, inner, Metrics())
    assert resilience.backend is inner
    assert resilience.breaker.status().enabled is False
    # A fallback model alone still needs the retrying layer (it is a retry).
    with_fallback = Settings(retry=RetrySettings(retries=0, fallback_model="claude-small"))
    assert isinstance(make_resilient(with_fallback, inner, Metrics()).backend, BreakerBackend)


@pytest.mark.anyio
async def test_the_breaker_gauge_follows_the_breaker() -> None:
    failure = UpstreamError("5xx", upstream_status=500, code="upstream_error")
    metrics = Metrics()
    settings = Settings(retry=RetrySettings(retries=0), breaker=BreakerSettings(min_requests=1))
    resilience = make_resilient(settings, FakeBackend([failure]), metrics)
    assert samples(metrics)[(f"{P}_circuit_breaker_open", ())] == 0
    with pytest.raises(UpstreamError):
        async with resilience.backend.open(TURN) as events:
            [event async for event in events]
    assert samples(metrics)[(f"{P}_circuit_breaker_open", ())] == 1


@pytest.mark.anyio
async def test_the_cpu_guard_needs_a_budget() -> None:
    inner = FakeBackend(text_events("x"))
    async with anyio.create_task_group() as background:
        assert guard_cpu(Settings(max_turn_cpu_s=0), inner, background) is inner
        guarded = guard_cpu(Settings(), inner, background)
        assert isinstance(guarded, CpuBudgetBackend)
        assert guarded.watchdog.budget_s == 120.0
        background.cancel_scope.cancel()


class FakePool:
    enabled = True
    ready = True

    def pids(self) -> list[int]:
        return []

    def stats(self) -> dict[str, int]:
        return {"clean": 2, "busy": 1, "starting": 1, "total": 4, "spawned": 9}


class FakeSessions:
    def __init__(self) -> None:
        self.reads = 0

    async def stats(self) -> SessionStats:
        self.reads += 1
        return SessionStats(active_sessions=5, busy_sessions=1, expired_sessions=0, total_turns=7)


@pytest.mark.anyio
async def test_pool_queue_and_session_gauges() -> None:
    metrics = Metrics()
    admission = Admission(limit=1, queue_limit=4, queue_timeout_s=30)
    sessions = FakeSessions()
    loop = feed_backend_gauges(
        metrics,
        pool=FakePool(),
        admission=admission,
        sessions=sessions,  # type: ignore[arg-type]  # a fake: only stats() is read
    )
    found = samples(metrics)
    assert found[(f"{P}_pool_processes", (("state", "clean"),))] == 2
    assert found[(f"{P}_pool_processes", (("state", "busy"),))] == 1
    assert found[(f"{P}_pool_processes", (("state", "parked"),))] == 0
    assert found[(f"{P}_queue_waiting", ())] == 0

    async with admission.slot(10), anyio.create_task_group() as group:
        group.start_soon(_take_slot, admission)
        await anyio.wait_all_tasks_blocked()
        assert samples(metrics)[(f"{P}_queue_waiting", ())] == 1
        group.cancel_scope.cancel()
    assert samples(metrics)[(f"{P}_queue_wait_seconds_count", ())] == 1

    async with anyio.create_task_group() as group:
        group.start_soon(loop)
        await anyio.wait_all_tasks_blocked()
        group.cancel_scope.cancel()
    assert sessions.reads == 1
    assert samples(metrics)[(f"{P}_sessions_active", ())] == 5


async def _take_slot(admission: Admission) -> None:
    async with admission.slot(10):
        pass
