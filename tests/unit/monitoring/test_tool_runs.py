"""Tool runs counted by tool and outcome, in the stats and in /metrics."""

from __future__ import annotations

from wrapper.events import ToolStep
from wrapper.monitoring.metrics import Metrics
from wrapper.monitoring.tool_runs import ToolRunStats


def test_results_count_calls_and_errors() -> None:
    metrics = Metrics()
    stats = ToolRunStats(metrics)
    stats.record(ToolStep("Bash", "t1", "call"))
    stats.record(ToolStep("Bash", "t1", "ok"))
    stats.record(ToolStep("Write", "t2", "error"))
    assert stats.by_tool["Bash"].calls == 1
    assert stats.by_tool["Write"].errors == 1
    assert (stats.total_calls, stats.total_errors) == (2, 1)
    rendered = metrics.render().decode()
    assert 'claude_wrapper_tool_runs_total{outcome="error",tool="Write"} 1.0' in rendered


def test_made_up_tool_names_do_not_grow_the_metric_labels() -> None:
    metrics = Metrics()
    ToolRunStats(metrics).record(ToolStep("rm -rf", "t", "error"))
    assert 'tool="other"' in metrics.render().decode()
