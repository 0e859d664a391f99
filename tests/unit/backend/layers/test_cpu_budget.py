"""The CPU budget: the turn's process from its events, the watchdog's kill, the turn's error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from claude_agent_sdk import ClaudeAgentOptions

from tests.fakes.backend import Call, FakeBackend, text_events
from wrapper.backend.cli_process import CliProcess
from wrapper.backend.layers.cpu_budget import CpuBudgetBackend, CpuWatchdog, TurnCpu
from wrapper.backend.turns import TurnEvents
from wrapper.errors import UpstreamError
from wrapper.events import AgentEvent, Message, TextPart, Turn

TURN = Turn(model="claude-x", messages=(Message(role="user", content=(TextPart("hi"),)),))
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


class FakeProcess:
    """Stands in for a CliProcess: a pid, and CPU time the test sets."""

    def __init__(self, pid: int | None = None, cpu: float = 10.0) -> None:
        self.pid = pid
        self.cpu = cpu
        self.done = False

    @property
    def exited(self) -> bool:
        return self.done

    def cpu_seconds(self) -> float | None:
        return self.cpu


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A real child process for the watchdog to kill."""
    child = subprocess.Popen(["sleep", "60"])
    yield child
    child.kill()
    child.wait()


class ProcessBackend:
    """A core backend whose events carry their process, as the CLI backends' do."""

    def __init__(self, inner: FakeBackend, process: FakeProcess) -> None:
        self.inner = inner
        self.process = process

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        async with self.inner.open(turn) as events:
            yield TurnEvents(self.process, _forward(events))


async def _forward(events: AsyncIterator[AgentEvent]) -> AsyncGenerator[AgentEvent, None]:
    async for event in events:
        yield event


@pytest.mark.anyio
async def test_the_turns_events_bring_its_process_to_the_watchdog() -> None:
    watchdog = CpuWatchdog(budget_s=1.0)
    process = FakeProcess(cpu=3.0)
    seen: list[TurnCpu] = []

    async def in_turn() -> None:
        seen.extend(watchdog.active)

    inner = FakeBackend([Call(in_turn), *text_events("ok")])
    backend = CpuBudgetBackend(ProcessBackend(inner, process), watchdog)
    async with backend.open(TURN) as events:
        [event async for event in events]
    (watch,) = seen
    assert watch.process is process
    assert watch.baseline == 3.0
    assert not watchdog.active  # unregistered when the turn ended


@pytest.mark.anyio
async def test_a_turn_without_a_process_is_not_policed() -> None:
    watchdog = CpuWatchdog(budget_s=1.0)
    seen: list[TurnCpu] = []

    async def in_turn() -> None:
        seen.extend(watchdog.active)

    backend = CpuBudgetBackend(FakeBackend([Call(in_turn), *text_events("ok")]), watchdog)
    async with backend.open(TURN) as events:
        [event async for event in events]
    assert seen == []


@linux_only
def test_the_watchdog_kills_a_process_over_budget(sleeper: subprocess.Popen[bytes]) -> None:
    watchdog = CpuWatchdog(budget_s=2.0)
    process = FakeProcess(pid=sleeper.pid, cpu=5.0)
    watch = TurnCpu(process)
    watchdog.active.add(watch)
    process.cpu = 6.9  # 1.9 s into the turn: within budget
    watchdog.check()
    assert sleeper.poll() is None
    process.cpu = 7.5
    watchdog.check()
    assert sleeper.wait(5) == -9  # SIGKILL
    assert watch.exceeded
    assert watch.used == pytest.approx(2.5)
    assert watchdog.killed == 1
    watchdog.check()  # once only
    assert watchdog.killed == 1


def test_the_watchdog_leaves_exited_processes_alone() -> None:
    watchdog = CpuWatchdog(budget_s=1.0)
    process = FakeProcess(pid=2**22 + 12345, cpu=1.0)  # a pid that is not ours
    watch = TurnCpu(process)
    watchdog.active.add(watch)
    process.done = True
    process.cpu = 10.0
    watchdog.check()  # marks the turn, sends no signal
    assert watch.exceeded


@pytest.mark.anyio
async def test_a_turn_whose_process_was_killed_fails_with_cpu_budget_exceeded() -> None:
    watchdog = CpuWatchdog(budget_s=0.5)
    process = FakeProcess(pid=None, cpu=1.0)

    async def burn() -> None:
        process.cpu = 2.0
        watchdog.check()

    ended = UpstreamError("The Claude CLI ended before finishing the reply.", code="cli_exited")
    script = [*text_events("a")[:3], Call(burn), ended]
    backend = CpuBudgetBackend(ProcessBackend(FakeBackend(script), process), watchdog)
    received: list[AgentEvent] = []
    with pytest.raises(UpstreamError) as caught:
        await read_into(backend, received)
    assert caught.value.code == "cpu_budget_exceeded"
    assert caught.value.status == 502
    assert "MAX_TURN_CPU_SECONDS=0.5" in caught.value.message
    assert len(received) == 3  # output before the kill went through


async def read_into(backend: CpuBudgetBackend, received: list[AgentEvent]) -> None:
    async with backend.open(TURN) as events:
        async for event in events:
            received.append(event)


@pytest.mark.anyio
async def test_other_failures_pass_through_unchanged() -> None:
    watchdog = CpuWatchdog(budget_s=0.5)
    failure = UpstreamError("5xx", upstream_status=500, code="upstream_error")
    backend = CpuBudgetBackend(FakeBackend([failure]), watchdog)
    with pytest.raises(UpstreamError) as caught:
        async with backend.open(TURN) as events:
            [event async for event in events]
    assert caught.value is failure


@linux_only
def test_cli_process_reads_its_cpu_time_from_proc() -> None:
    process = CliProcess(ClaudeAgentOptions())
    assert process.cpu_seconds() is None  # not started
    process.pid = os.getpid()
    used = process.cpu_seconds()
    assert used is not None
    assert used > 0
    process.pid = 2**22 + 12345
    assert process.cpu_seconds() is None
