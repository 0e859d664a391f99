"""The CPU budget of a turn: a runaway CLI process is killed and its turn fails.

``MAX_TIMEOUT`` bounds a turn's time; ``MAX_TURN_CPU_SECONDS`` bounds the CPU its
``claude`` process burns while serving it (the process's own user + system time, from
``/proc/<pid>/stat``; the tools it runs are not counted). A CLI stuck in a busy loop
would otherwise hold a core until the deadline.

How a turn finds its process without the backends knowing: :class:`CpuBudgetBackend`
puts a :class:`TurnCpu` in a context variable when the turn opens, and
:meth:`CliProcess.next_message <wrapper.backend.cli_process.CliProcess.next_message>`
calls :func:`note_turn_process` — so the process whose messages the turn's own task
reads is the turn's process (tasks that merely inherit the context, such as the
pool's housekeeping, are ignored). The CPU it has used so far is the turn's baseline.

:class:`CpuWatchdog` (one loop in the app's background task group) reads the CPU time
of every running turn's process once a second; a process over budget gets ``SIGKILL``,
and the turn fails with 502 ``cpu_budget_exceeded`` (an in-stream error when output
had started). Where ``/proc`` does not exist the budget is not enforced.
"""

from __future__ import annotations

import contextvars
import os
import signal
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Protocol

import anyio

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
    """One running turn: its owner task, its process and the CPU it had at the start."""

    __slots__ = ("baseline", "exceeded", "owner", "process", "used")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.process: Measured | None = None
        self.baseline: float | None = None
        self.exceeded = False
        self.used = 0.0

    def attach(self, process: Measured) -> None:
        self.process = process
        self.baseline = process.cpu_seconds()


_CURRENT: contextvars.ContextVar[TurnCpu | None] = contextvars.ContextVar(
    "claude_wrapper_turn_cpu", default=None
)


def note_turn_process(process: Measured) -> None:
    """Called for every message a CLI process delivers: attach it to the reading turn."""
    watch = _CURRENT.get()
    if watch is None or watch.process is process:
        return
    if anyio.get_current_task().id == watch.owner:
        watch.attach(process)


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
            if process is None or watch.exceeded or watch.baseline is None:
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
        watch = TurnCpu(anyio.get_current_task().id)
        token = _CURRENT.set(watch)
        self.watchdog.active.add(watch)
        try:
            async with self.inner.open(turn) as events:
                guarded = self._guard(events, watch)
                try:
                    yield guarded
                finally:
                    with anyio.move_on_after(_CLOSE_DEADLINE_S, shield=True):
                        await guarded.aclose()
        finally:
            self.watchdog.active.discard(watch)
            _CURRENT.reset(token)

    async def _guard(
        self, events: AsyncIterator[AgentEvent], watch: TurnCpu
    ) -> AsyncGenerator[AgentEvent, None]:
        try:
            async for event in events:
                yield event
        except WrapperError as error:
            if watch.exceeded:
                raise UpstreamError(
                    "The Claude Code process of this request went over its CPU budget "
                    f"(MAX_TURN_CPU_SECONDS={self.watchdog.budget_s:g}) and was stopped.",
                    code="cpu_budget_exceeded",
                ) from error
            raise
