"""Counts of the tools Claude Code ran itself, by tool: ``GET /v1/tools/stats`` and /metrics.

Fed by the observed backend layer from the tool steps of every turn
(:class:`~wrapper.events.ToolStep`): a call counts when its result arrives, as
an error when the tool reported one (a refused permission, a failing command).
The counts are this server process's, since its start.
"""

from __future__ import annotations

import time

import msgspec

from wrapper.agent.catalogue import TOOL_NAMES
from wrapper.events import ToolStep
from wrapper.logging import get_logger
from wrapper.monitoring.metrics import Metrics

log = get_logger(__name__)


class ToolCount(msgspec.Struct, kw_only=True):
    calls: int = 0
    errors: int = 0
    last_used_at: float | None = None


class ToolRunStats:
    """Tool calls and errors by tool name."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.by_tool: dict[str, ToolCount] = {}
        self.since = time.time()

    def record(self, step: ToolStep) -> None:
        """Count a step's result (``call`` steps are logged, counted at their result)."""
        if step.outcome == "call":
            log.info("tool.called", tool=step.name, tool_use_id=step.tool_id)
            return
        count = self.by_tool.setdefault(step.name, ToolCount())
        count.calls += 1
        count.last_used_at = time.time()
        if step.outcome == "error":
            count.errors += 1
        # Bounded labels: a name the model made up is counted as "other".
        known = step.name in TOOL_NAMES or step.name.startswith("mcp__")
        label = step.name if known else "other"
        self.metrics.tool_runs.labels(tool=label, outcome=step.outcome).inc()
        log.info("tool.finished", tool=step.name, tool_use_id=step.tool_id, outcome=step.outcome)

    @property
    def total_calls(self) -> int:
        return sum(count.calls for count in self.by_tool.values())

    @property
    def total_errors(self) -> int:
        return sum(count.errors for count in self.by_tool.values())
