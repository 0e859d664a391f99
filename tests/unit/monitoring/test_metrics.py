"""Prometheus rendering from the app's own registry."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from wrapper.monitoring.metrics import CONTENT_TYPE, Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_render_is_prometheus_text_with_every_family() -> None:
    metrics = Metrics()
    metrics.requests.labels(route="chat", method="POST", status="200").inc()
    metrics.request_duration.labels(route="chat").observe(0.2)
    metrics.time_to_first_token.observe(0.05)
    metrics.tokens.labels(model="claude-x", kind="input").inc(12)
    metrics.cost.labels(model="claude-x").inc(0.25)
    metrics.rate_limited.labels(group="chat").inc()
    metrics.upstream_errors.labels(type="upstream_overloaded").inc()
    metrics.active_streams.inc()
    metrics.pool_processes.labels(state="idle").set(2)
    metrics.queue_waiting.set(1)
    metrics.sessions_active.set(4)
    found = samples(metrics)
    p = "claude_wrapper"
    assert (
        found[
            (f"{p}_http_requests_total", (("method", "POST"), ("route", "chat"), ("status", "200")))
        ]
        == 1
    )
    assert found[(f"{p}_http_request_duration_seconds_count", (("route", "chat"),))] == 1
    assert found[(f"{p}_time_to_first_token_seconds_count", ())] == 1
    assert found[(f"{p}_tokens_total", (("kind", "input"), ("model", "claude-x")))] == 12
    assert found[(f"{p}_cost_usd_total", (("model", "claude-x"),))] == 0.25
    assert found[(f"{p}_rate_limited_total", (("group", "chat"),))] == 1
    assert found[(f"{p}_upstream_errors_total", (("type", "upstream_overloaded"),))] == 1
    assert found[(f"{p}_active_streams", ())] == 1
    assert found[(f"{p}_pool_processes", (("state", "idle"),))] == 2
    assert found[(f"{p}_queue_waiting", ())] == 1
    assert found[(f"{p}_sessions_active", ())] == 4
    assert found[(f"{p}_cli_login_ok", ())] == -1
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.cost.labels(model="m").inc(1)
    assert ("claude_wrapper_cost_usd_total", (("model", "m"),)) not in samples(second)
