"""The deep health probe: one real turn, cached, single-flight, failures reported."""

from __future__ import annotations

import anyio
import pytest

from tests.fakes.backend import Call, FakeBackend, text_events
from wrapper.errors import UpstreamOverloadedError
from wrapper.monitoring.deep_health import PROBE_PROMPT, DeepHealth

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_completed_turn_is_healthy_and_cached() -> None:
    backend = FakeBackend(text_events("OK"))
    clock = Clock()
    probe = DeepHealth(backend, "claude-x", cache_s=30, clock=clock)
    first = await probe.check()
    assert first.status == "healthy"
    assert first.probe_ok
    assert first.cached is False
    assert first.model == "claude-x"
    turn = backend.turns[0]
    assert turn.model == "claude-x"
    assert PROBE_PROMPT in str(turn.messages)
    clock.now = 29.9
    again = await probe.check()
    assert again.cached is True
    assert again.checked_at == first.checked_at
    assert len(backend.turns) == 1
    clock.now = 30.0
    assert (await probe.check()).cached is False
    assert len(backend.turns) == 2


async def test_a_failed_turn_is_unhealthy_and_named() -> None:
    backend = FakeBackend([UpstreamOverloadedError("busy")])
    probe = DeepHealth(backend, "claude-x", cache_s=30)
    result = await probe.check()
    assert result.status == "unhealthy"
    assert result.error_type == "upstream_overloaded"
    assert result.error_message == "busy"


async def test_a_hanging_turn_times_out() -> None:
    backend = FakeBackend([Call(anyio.sleep_forever)])
    probe = DeepHealth(backend, "claude-x", cache_s=30, timeout_s=0.05)
    result = await probe.check()
    assert result.probe_ok is False
    assert result.error_type == "probe_timeout"
    assert backend.exits == ["cancelled"]


async def test_concurrent_callers_share_one_probe() -> None:
    release = anyio.Event()
    backend = FakeBackend([Call(release.wait), *text_events("OK")])
    probe = DeepHealth(backend, "claude-x", cache_s=30)
    results = []

    async def ask() -> None:
        results.append(await probe.check())

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert len(backend.turns) == 1
    assert sorted(r.cached for r in results) == [False, True, True]
