"""Building the operations components once, in the lifespan (called from wiring).

:func:`open_served_models` comes first (before the backend, whose warm pool
needs the default model): it fetches the live catalogue when configured, so
its newest Sonnet can be the default model. :func:`build_operations` then
builds the rest: the observed backend, the rate limiter (its counters shared in
Redis when a store is given), the CLI login health and its probe loop, metrics,
the response cache, the request hooks and the deep-health probe.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from functools import partial
from typing import Any

import anyio
import msgspec

from wrapper.api.context import Operations
from wrapper.backend.layers.observed import ObservedBackend
from wrapper.config import Settings
from wrapper.events import Backend
from wrapper.logging import get_logger
from wrapper.models.catalogue import STATIC_MODELS, ModelInfo
from wrapper.models.live import LiveModelsSource, fetch_live_models, live_source
from wrapper.models.served import ServedModels
from wrapper.monitoring.deep_health import DeepHealth
from wrapper.monitoring.metrics import Metrics
from wrapper.monitoring.tool_runs import ToolRunStats
from wrapper.policy.api_keys import ApiKeys, configured_keys
from wrapper.policy.browser_guard import BrowserGuard
from wrapper.policy.client_address import ClientAddressResolver
from wrapper.policy.cors import CorsPolicy
from wrapper.policy.key_usage import UsageAccounting
from wrapper.policy.ratelimit import (
    MemoryRateLimitStore,
    RateLimiter,
    RateLimitStore,
    group_limits,
)
from wrapper.policy.request_hooks import RequestHooks
from wrapper.policy.response_cache import ResponseCache
from wrapper.upstream.auth import UpstreamAuth
from wrapper.upstream.login import CliLoginHealth, probe_cli_login, run_probe_loop
from wrapper.usage.key_ledger import KeyLedger
from wrapper.usage.plan_windows import PlanWindows
from wrapper.usage.store import MemoryUsageStore

log = get_logger(__name__)

ProbeLoop = Callable[[], Coroutine[Any, Any, None]]


class OperationsParts(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`build_operations` made."""

    backend: Backend
    """The observed backend (every attempt measured), to wrap in the resilience layers."""
    login: CliLoginHealth
    operations: Operations
    probe_loop: ProbeLoop | None = None
    """The CLI login probe, to run in the app's background task group (``cli`` method)."""


async def _fetch(source: LiveModelsSource) -> tuple[ModelInfo, ...]:
    return await fetch_live_models(source, {model.id: model for model in STATIC_MODELS})


async def open_served_models(
    settings: Settings, *, models: tuple[ModelInfo, ...], default_model: str
) -> ServedModels:
    """The served model list; the live catalogue is fetched now when configured.

    Its ``default_model`` is the newest Sonnet of the served list when
    ``DEFAULT_MODEL`` is unset and the live catalogue answered, else ``default_model``.
    """
    served = ServedModels(
        fallback=models,
        pinned=bool(settings.models.override),
        source=live_source(settings.models, settings.environ),
        fetch=_fetch,
        ttl_s=settings.models.cache_ttl_s,
        error_ttl_s=settings.models.error_ttl_s,
        default_model=default_model,
    )
    if served.live_enabled:
        await served.models()
        if settings.models.default_model is None:
            served.default_model = served.latest_sonnet() or default_model
    return served


async def build_operations(
    settings: Settings,
    *,
    backend: Backend,
    served_models: ServedModels,
    upstream_auth: UpstreamAuth,
    cli_command: Sequence[str] | None,
    cli_env: Mapping[str, str],
    rate_store: RateLimitStore | None = None,
    ledger: KeyLedger | None = None,
    plan: PlanWindows | None = None,
) -> OperationsParts:
    """Build the operations components.

    Background work is not started here: the caller runs ``probe_loop`` in the
    app's background task group.
    """
    metrics = Metrics()
    gated = upstream_auth.method == "cli"
    login = CliLoginHealth(gated=gated, probe_interval_s=settings.upstream.probe_interval_s)
    tool_runs = ToolRunStats(metrics)
    observed = ObservedBackend(backend, metrics, login, tool_runs)

    rates = rate_store or MemoryRateLimitStore()
    limiter = RateLimiter(
        rates,
        group_limits(settings.rate_limits),
        enabled=settings.rate_limits.enabled,
        on_reject=lambda group: metrics.rate_limited.labels(group=group).inc(),
    )
    cache = ResponseCache(
        enabled=settings.cache.enabled,
        ttl_s=settings.cache.ttl_s,
        max_size=settings.cache.max_size,
        on_lookup=lambda hit: metrics.response_cache.labels(result="hit" if hit else "miss").inc(),
    )
    hooks = RequestHooks(
        limiter=limiter,
        addresses=ClientAddressResolver(settings.trusted_proxies),
        login=login,
        metrics=metrics,
        guard=BrowserGuard(keyless=settings.keyless, allowed_hosts=settings.allowed_hosts),
    )
    deep = DeepHealth(observed, served_models.default_model, cache_s=settings.deep_health_cache_s)

    probe_loop: ProbeLoop | None = None
    if gated:
        metrics.cli_login_ok.set_function(
            lambda: -1.0 if login.ok is None else (1.0 if login.ok else 0.0)
        )
        interval = settings.upstream.probe_interval_s
        if interval > 0 and cli_command:
            probe = partial(probe_cli_login, list(cli_command), dict(cli_env))
            probe_loop = partial(run_probe_loop, login, probe, interval)
        elif interval > 0:
            log.warning("cli_auth.probe_unavailable", reason="no claude CLI found")

    # The keys file is read once, off the event loop.
    api_keys = ApiKeys(
        await anyio.to_thread.run_sync(configured_keys, settings.api_key, settings.keys)
    )
    usage = UsageAccounting(
        keys=api_keys,
        ledger=ledger or KeyLedger(MemoryUsageStore()),
        plan=plan or PlanWindows(),
        rate_store=rates,
        metrics=metrics,
        quota_guard=settings.keys.quota_guard,
    )
    return OperationsParts(
        backend=observed,
        login=login,
        operations=Operations(
            metrics=metrics,
            tool_runs=tool_runs,
            cache=cache,
            hooks=hooks,
            deep_health=deep,
            api_keys=api_keys,
            usage=usage,
            cors=CorsPolicy(settings.cors_allowed),
        ),
        probe_loop=probe_loop,
    )
