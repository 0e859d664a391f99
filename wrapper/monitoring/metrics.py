"""Prometheus metrics of one app, in its own registry (never the global one).

``GET /metrics`` renders :meth:`Metrics.render` in the Prometheus text format.
The app, the rate limiter and the observed backend feed the request, token,
cost, stream, rejection and upstream-error metrics. The conversation engine,
the process pool and the session store feed theirs through the clearly named
hooks at the end of :class:`Metrics` (``pool_processes``, ``queue_waiting``,
``queue_wait_seconds``, ``sessions_active``, ``circuit_breaker_open``,
``upstream_retries``, ``fallback_model_used``): set gauges directly, or give a
gauge a callback with ``set_function``.

Labels are bounded: routes by name (``unmatched`` for 404s), models as Claude
reported them, error types by the WrapperError code.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# The classic text exposition format, which ``generate_latest`` writes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "claude_wrapper"

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60)
_QUEUE_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Every metric of the server, registered in a private :class:`CollectorRegistry`."""

    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry(auto_describe=True)
        p = PREFIX
        self.requests = Counter(
            f"{p}_http_requests",
            "HTTP requests served, by route name, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_duration = Histogram(
            f"{p}_http_request_duration_seconds",
            "Time from request to the end of the response (whole stream included), by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.time_to_first_token = Histogram(
            f"{p}_time_to_first_token_seconds",
            "Time from starting a turn to its first text, thinking or tool-input delta.",
            buckets=_TTFT_BUCKETS,
            registry=registry,
        )
        self.turns = Counter(
            f"{p}_turns",
            "Backend turns by outcome (completed, failed, cancelled).",
            ["outcome"],
            registry=registry,
        )
        self.tokens = Counter(
            f"{p}_tokens",
            "Tokens as Claude reported them, by model and kind "
            "(input, output, cache_read, cache_creation).",
            ["model", "kind"],
            registry=registry,
        )
        self.cost = Counter(
            f"{p}_cost_usd",
            "Cost in USD that Claude Code reported for completed turns, by model.",
            ["model"],
            registry=registry,
        )
        self.active_streams = Gauge(
            f"{p}_active_streams",
            "Streaming responses in flight.",
            registry=registry,
        )
        self.rate_limited = Counter(
            f"{p}_rate_limited",
            "Requests refused by this server's rate limits, by endpoint group.",
            ["group"],
            registry=registry,
        )
        self.upstream_errors = Counter(
            f"{p}_upstream_errors",
            "Failed backend turns, by error type (the error code clients see).",
            ["type"],
            registry=registry,
        )
        self.tool_runs = Counter(
            f"{p}_tool_runs",
            "Tools Claude Code ran itself (enable_tools), by tool and outcome (ok, error).",
            ["tool", "outcome"],
            registry=registry,
        )
        self.response_cache = Counter(
            f"{p}_response_cache",
            "Response cache lookups by result (hit, miss).",
            ["result"],
            registry=registry,
        )
        self.cli_login_ok = Gauge(
            f"{p}_cli_login_ok",
            "1 when the CLI login is known good, 0 when lost, -1 when unknown or not used.",
            registry=registry,
        )
        # -- hooks fed by the engine, pool and session store ---------------------------
        self.pool_processes = Gauge(
            f"{p}_pool_processes",
            "CLI processes in the warm pool, by state (idle, busy, starting).",
            ["state"],
            registry=registry,
        )
        self.queue_waiting = Gauge(
            f"{p}_queue_waiting",
            "Requests waiting for a CLI process.",
            registry=registry,
        )
        self.queue_wait_seconds = Histogram(
            f"{p}_queue_wait_seconds",
            "Time requests waited for a CLI process.",
            buckets=_QUEUE_BUCKETS,
            registry=registry,
        )
        self.sessions_active = Gauge(
            f"{p}_sessions_active",
            "Client sessions currently held by the session store.",
            registry=registry,
        )
        self.circuit_breaker_open = Gauge(
            f"{p}_circuit_breaker_open",
            "1 while the circuit breaker is open (or half-open), else 0.",
            registry=registry,
        )
        self.upstream_retries = Counter(
            f"{p}_upstream_retries",
            "Turns retried before any output was sent, by reason.",
            ["reason"],
            registry=registry,
        )
        self.fallback_model_used = Counter(
            f"{p}_fallback_model_used",
            "Turns answered by the fallback model after repeated overloads.",
            registry=registry,
        )
        self.cli_login_ok.set(-1)
        self.key_requests = Counter(
            f"{p}_key_requests",
            "Model requests (chat, messages, responses) by client key name.",
            ["key"],
            registry=registry,
        )
        self.key_tokens = Counter(
            f"{p}_key_tokens",
            "Tokens of the turns of each client key, by direction (input, output).",
            ["key", "direction"],
            registry=registry,
        )
        self.key_cost = Counter(
            f"{p}_key_cost_usd",
            "Dollars the turns of each client key cost (the CLI's figures).",
            ["key"],
            registry=registry,
        )
        self.key_budget_refusals = Counter(
            f"{p}_key_budget_refusals",
            "Requests refused because their key's budget was spent, by key and budget.",
            ["key", "budget"],
            registry=registry,
        )
        self.plan_utilization = Gauge(
            f"{p}_plan_window_utilization",
            "Used fraction of each Claude plan window, as the CLI last reported it.",
            ["window"],
            registry=registry,
        )
        self.plan_status = Gauge(
            f"{p}_plan_window_status",
            "Each Claude plan window's status: 0 allowed, 1 warning, 2 rejected.",
            ["window"],
            registry=registry,
        )
        self.plan_resets_in = Gauge(
            f"{p}_plan_window_resets_in_seconds",
            "Seconds until each Claude plan window resets.",
            ["window"],
            registry=registry,
        )
        self.plan_reading_age = Gauge(
            f"{p}_plan_window_reading_age_seconds",
            "How old the latest reading of each Claude plan window is.",
            ["window"],
            registry=registry,
        )

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format (0.0.4)."""
        return generate_latest(self.registry)
