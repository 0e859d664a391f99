"""Choosing and assembling the backend from Settings (pooled by default, or cold)."""

from __future__ import annotations

from contextlib import AsyncExitStack

import anyio.abc

from wrapper.backend.admission import Admission
from wrapper.backend.cold import ColdBackend
from wrapper.backend.options import CliRuntime
from wrapper.backend.pool import PoolSettings, ProcessPool
from wrapper.backend.pooled import PooledBackend
from wrapper.backend.profile import Profile
from wrapper.backend.session_link import SessionLeaser
from wrapper.config import Settings
from wrapper.events import Backend


def pool_settings(settings: Settings) -> PoolSettings:
    return PoolSettings(
        max_processes=settings.pool_max_processes,
        min_warm=settings.pool_min_warm,
        spares_per_profile=settings.pool_spares_per_profile,
        idle_timeout_s=settings.pool_idle_timeout_s,
        affinity_ttl_s=settings.pool_affinity_ttl_s,
        max_turns_per_process=settings.pool_max_turns_per_process,
        max_rss_bytes=settings.pool_max_rss_mb * 1024 * 1024,
        park_timeout_s=settings.pool_tool_park_s,
        reset=settings.pool_reset,
    )


def admission_for(settings: Settings) -> Admission:
    limit = settings.max_concurrent_turns
    if limit is None:
        limit = settings.pool_max_processes if settings.pool_enabled else 16
    return Admission(limit, settings.max_queued_turns, settings.queue_timeout_s)


async def build_backend(
    settings: Settings,
    runtime: CliRuntime,
    *,
    default_model: str,
    stack: AsyncExitStack,
    background: anyio.abc.TaskGroup | None,
    sessions: SessionLeaser | None = None,
) -> tuple[Backend, ProcessPool | None, Admission]:
    """The backend for ``settings``; the pool's processes are stopped by ``stack``."""
    admission = admission_for(settings)
    if not settings.pool_enabled or background is None:
        cold = ColdBackend(runtime, admission, timeout_s=settings.max_timeout_s, sessions=sessions)
        return cold, None, admission
    pool = ProcessPool(runtime, pool_settings(settings), Profile(system_prompt=""), default_model)
    pool.attach(background)
    stack.push_async_callback(pool.close)
    backend = PooledBackend(pool, admission, timeout_s=settings.max_timeout_s, sessions=sessions)
    return backend, pool, admission
