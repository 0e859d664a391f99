"""A Backend that watches every turn of the backend it wraps.

For every dialect and for streams alike it records time to first token,
tokens and cost (from the turn's :class:`~wrapper.events.TurnEnd`) and failures by
error type, and the tools Claude Code ran itself (logged and counted). A turn
Claude rejects for its credentials marks the CLI login as lost; a completed turn
marks it good. Events pass through unchanged.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

import anyio

from wrapper.errors import UpstreamAuthenticationError, WrapperError
from wrapper.events import (
    AgentEvent,
    Backend,
    BlockStart,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    Turn,
    TurnEnd,
)
from wrapper.monitoring.metrics import Metrics
from wrapper.monitoring.tool_runs import ToolRunStats
from wrapper.upstream.login import CliLoginHealth

_FIRST_TOKEN = (TextDelta, ThinkingDelta, ToolInputDelta)
CLOSE_DEADLINE_S = 30.0


class ObservedBackend:
    """Wraps ``inner``; implements :class:`~wrapper.events.Backend`."""

    def __init__(
        self,
        inner: Backend,
        metrics: Metrics,
        login: CliLoginHealth,
        tool_runs: ToolRunStats | None = None,
    ) -> None:
        self.inner = inner
        self.metrics = metrics
        self.login = login
        self.tool_runs = tool_runs or ToolRunStats(metrics)

    def failed(self, error: WrapperError) -> None:
        """Count a failed turn (and mark the login on a credentials rejection)."""
        self.metrics.upstream_errors.labels(type=error.code).inc()
        self.metrics.turns.labels(outcome="failed").inc()
        if isinstance(error, UpstreamAuthenticationError):
            self.login.report_rejection()

    def completed(self, end: TurnEnd) -> None:
        """Account a completed turn's tokens and cost."""
        usage = end.usage
        tokens = self.metrics.tokens
        tokens.labels(model=end.model, kind="input").inc(usage.input_tokens)
        tokens.labels(model=end.model, kind="output").inc(usage.output_tokens)
        tokens.labels(model=end.model, kind="cache_read").inc(usage.cache_read_input_tokens)
        tokens.labels(model=end.model, kind="cache_creation").inc(usage.cache_creation_input_tokens)
        if end.cost_usd is not None:
            self.metrics.cost.labels(model=end.model).inc(end.cost_usd)
        self.metrics.turns.labels(outcome="completed").inc()
        self.login.report_success()

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        started = time.perf_counter()
        entered = False
        try:
            async with self.inner.open(turn) as events:
                entered = True
                watcher = self._watch(events, started)
                try:
                    yield watcher
                finally:
                    # Close the chain from the outside in before the inner turn ends.
                    with anyio.move_on_after(CLOSE_DEADLINE_S, shield=True):
                        await watcher.aclose()
        except WrapperError as error:
            if not entered:
                self.failed(error)
            raise

    async def _watch(
        self, events: AsyncIterator[AgentEvent], started: float
    ) -> AsyncGenerator[AgentEvent, None]:
        first = True
        outcome: str | None = None
        try:
            async for event in events:
                if first and isinstance(event, _FIRST_TOKEN):
                    first = False
                    self.metrics.time_to_first_token.observe(time.perf_counter() - started)
                elif isinstance(event, TurnEnd):
                    outcome = "completed"
                    self.completed(event)
                if isinstance(event, BlockStart) and event.step is not None:
                    self.tool_runs.record(event.step)
                yield event
        except WrapperError as error:
            outcome = "failed"
            self.failed(error)
            raise
        finally:
            if outcome is None:
                # Cancelled, or abandoned by its consumer before the turn ended.
                self.metrics.turns.labels(outcome="cancelled").inc()
            close = getattr(events, "aclose", None)
            if close is not None:
                with anyio.move_on_after(CLOSE_DEADLINE_S, shield=True):
                    await close()
