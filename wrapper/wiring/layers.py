"""The layers around the core backend, built from Settings, and the gauges they feed.

The layers, outermost first, around the pooled or cold backend::

    BreakerBackend        circuit breaker: 503 circuit_open while open (one outcome per request)
      RetryingBackend     retries before any output; the fallback model after overloads
        ObservedBackend   metrics of every attempt (built by ops.components)
          CpuBudgetBackend  a turn's CLI over MAX_TURN_CPU_SECONDS is killed
            pooled / cold backend

:func:`guard_cpu` wraps the backend before the observed backend is built around it,
:func:`make_resilient` wraps the observed backend. :func:`feed_backend_gauges` gives
the pool, queue, session and breaker gauges their sources; they are read when
``/metrics`` is scraped (the session count, which needs the store, is refreshed by a
background loop).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import anyio
import anyio.abc
import msgspec

from wrapper.backend.admission import Admission
from wrapper.backend.layers.breaker import BreakerBackend, CircuitBreaker
from wrapper.backend.layers.cpu_budget import CpuBudgetBackend, CpuWatchdog
from wrapper.backend.layers.retrying import RetryingBackend
from wrapper.backend.pool import State
from wrapper.backend.pool_view import PoolView
from wrapper.config import Settings
from wrapper.errors import WrapperError
from wrapper.events import Backend
from wrapper.logging import get_logger
from wrapper.monitoring.metrics import Metrics
from wrapper.sessions.service import SessionManager

log = get_logger(__name__)

SESSIONS_GAUGE_INTERVAL_S = 30.0


class Resilience(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`make_resilient` made: the outer backend and its breaker."""

    backend: Backend
    breaker: CircuitBreaker


def guard_cpu(settings: Settings, backend: Backend, background: anyio.abc.TaskGroup) -> Backend:
    """``backend`` with the CPU budget enforced (its watchdog runs in ``background``).

    Unchanged when ``MAX_TURN_CPU_SECONDS`` is 0.
    """
    if settings.max_turn_cpu_s <= 0:
        return backend
    watchdog = CpuWatchdog(settings.max_turn_cpu_s)
    background.start_soon(watchdog.run)
    return CpuBudgetBackend(backend, watchdog)


def make_resilient(settings: Settings, backend: Backend, metrics: Metrics) -> Resilience:
    """Retries, the fallback model and the circuit breaker around ``backend``."""
    policy = settings.retry
    if policy.retries > 0 or policy.fallback_model is not None:
        backend = RetryingBackend(
            backend,
            policy,
            timeout_s=settings.max_timeout_s,
            on_retry=lambda reason: metrics.upstream_retries.labels(reason=reason).inc(),
            on_fallback=metrics.fallback_model_used.inc,
        )
    breaker = CircuitBreaker(settings.breaker)
    metrics.circuit_breaker_open.set_function(lambda: 1.0 if breaker.is_open else 0.0)
    if breaker.settings.enabled:
        backend = BreakerBackend(backend, breaker)
    return Resilience(backend=backend, breaker=breaker)


def _count(counts: Callable[[], dict[str, int]], name: str) -> float:
    return float(counts().get(name, 0))


def feed_backend_gauges(
    metrics: Metrics,
    *,
    pool: PoolView,
    admission: Admission,
    sessions: SessionManager,
) -> Callable[[], Coroutine[Any, Any, None]]:
    """Point the pool and queue gauges at their sources (read on scrape).

    Returns the loop that refreshes ``sessions_active``, to run in the app's
    background task group.
    """
    if pool.enabled:
        counts = pool.stats
        for state in State:
            metrics.pool_processes.labels(state=state.value).set_function(
                partial(_count, counts, state.value)
            )
    metrics.queue_waiting.set_function(lambda: float(admission.waiting))
    admission.on_admitted = metrics.queue_wait_seconds.observe
    store = sessions

    async def refresh_sessions() -> None:
        while True:
            try:
                stats = await store.stats()
            except WrapperError:
                log.debug("metrics.sessions_unavailable")
            except Exception:  # a background loop must outlive a bad read
                log.exception("metrics.sessions_failed")
            else:
                metrics.sessions_active.set(stats.active_sessions)
            await anyio.sleep(SESSIONS_GAUGE_INTERVAL_S)

    return refresh_sessions
