"""The CPU budget of a turn: a runaway CLI process is killed and its turn fails.

``MAX_TIMEOUT`` bounds a turn's time; ``MAX_TURN_CPU_SECONDS`` bounds the CPU its
``claude`` process burns while serving it (the process's own user + system time, from
``/proc/<pid>/stat``; the tools it runs are not counted). A CLI stuck in a busy loop
would otherwise hold a core until the deadline.

How a turn finds its process: the core backends' event streams carry it
(:class:`~wrapper.backend.turns.TurnEvents`), and :class:`CpuBudgetBackend`, the
layer right around the core backend, takes it from there when the turn opens. The
CPU it has used so far is the turn's baseline.

:class:`CpuWatchdog` (one loop in the app's background task group) reads the CPU time
of every running turn's process once a second; a process over budget gets ``SIGKILL``,
and the turn fails with 502 ``cpu_budget_exceeded`` (an in-stream error when output
had started). Where ``/proc`` does not exist the budget is not enforced.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Protocol

import anyio

from wrapper.backend.turns import TurnEvents
from wrapper.errors import UpstreamError, WrapperError
from wrapper.events import AgentEvent, Backend, Turn
from wrapper.logging import get_logger

log = get_logger(__name__)

CHECK_INTERVAL_S = 1.0
_CLOSE_DEADLINE_S = 30.0


class Measured(Protocol):
    """What the watchdog needs of a CLI process (a ``CliProcess``)."""

    pid: int | None

    @property
    def exited(self) -> bool: ...

    def cpu_seconds(self) -> float | None: ...


class TurnCpu:
    """One running turn: its process and the CPU it had at the start."""

    __slots__ = ("baseline", "exceeded", "process", "used")

    def __init__(self, process: Measured) -> None:
        self.process = process
        self.baseline = process.cpu_seconds()
        self.exceeded = False
        self.used = 0.0


class CpuWatchdog:
    """Kills the CLI process of a turn over ``budget_s`` CPU-seconds (see module doc)."""

    def __init__(self, budget_s: float, interval_s: float = CHECK_INTERVAL_S) -> None:
        self.budget_s = budget_s
        self.interval_s = interval_s
        self.active: set[TurnCpu] = set()
        self.killed = 0

    async def run(self) -> None:
        """Check every ``interval_s`` until cancelled (the app's background task group)."""
        while True:
            await anyio.sleep(self.interval_s)
            self.check()

    def check(self) -> None:
        for watch in list(self.active):
            process = watch.process
            if watch.exceeded or watch.baseline is None:
                continue
            now = process.cpu_seconds()
            if now is None:
                continue
            used = now - watch.baseline
            if used <= self.budget_s:
                continue
            watch.exceeded = True
            watch.used = used
            self.killed += 1
            log.warning(
                "backend.cpu_budget_exceeded",
                pid=process.pid,
                cpu_s=round(used, 2),
                budget_s=self.budget_s,
            )
            # Not reaped yet (no return code), so the pid is still this process's.
            if process.pid is not None and not process.exited:
                with suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)


class CpuBudgetBackend:
    """Wraps ``inner`` so that ``watchdog`` can find and police each turn's process."""

    def __init__(self, inner: Backend, watchdog: CpuWatchdog) -> None:
        self.inner = inner
        self.watchdog = watchdog

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        async with self.inner.open(turn) as events:
            process = events.process if isinstance(events, TurnEvents) else None
            watch = TurnCpu(process) if process is not None else None
            if watch is not None:
                self.watchdog.active.add(watch)
            guarded = self._guard(events, watch)
            try:
                yield guarded
            finally:
                with anyio.move_on_after(_CLOSE_DEADLINE_S, shield=True):
                    await guarded.aclose()
                if watch is not None:
                    self.watchdog.active.discard(watch)

    async def _guard(
        self, events: AsyncIterator[AgentEvent], watch: TurnCpu | None
    ) -> AsyncGenerator[AgentEvent, None]:
        try:
            async for event in events:
                yield event
        except WrapperError as error:
            if watch is not None and watch.exceeded:
                raise UpstreamError(
                    "The Claude Code process of this request went over its CPU budget "
                    f"(MAX_TURN_CPU_SECONDS={self.watchdog.budget_s:g}) and was stopped.",
                    code="cpu_budget_exceeded",
                ) from error
            raise
