"""The core backend chosen from Settings: warm pooled processes (the default) or one per turn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from wrapper.backend.admission import Admission
from wrapper.backend.cold import ColdBackend
from wrapper.backend.options import CliRuntime
from wrapper.backend.pool import CliProcesses, ProcessPool
from wrapper.backend.pool_view import NoPool, PoolView
from wrapper.backend.pooled import PooledBackend
from wrapper.backend.profile import Profile
from wrapper.config import Settings
from wrapper.events import Backend
from wrapper.sessions.service import SessionManager
from wrapper.wiring.lifespan import LifespanStack


class CoreBackend(msgspec.Struct, frozen=True, kw_only=True):
    """The backend before its layers, with its pool and its turn queue."""

    backend: Backend
    pool: PoolView
    admission: Admission


class CoreRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What a core backend is built from."""

    settings: Settings
    runtime: CliRuntime
    default_model: str
    sessions: SessionManager


OpenCore = Callable[[CoreRequest, LifespanStack], Awaitable[CoreBackend]]


def admission_for(settings: Settings) -> Admission:
    queue = settings.queue
    return Admission(settings.max_concurrent_turns, queue.max_queued_turns, queue.timeout_s)


async def open_core_backend(request: CoreRequest, stack: LifespanStack) -> CoreBackend:
    """The backend for the settings; the pool's processes are stopped by ``stack``."""
    settings = request.settings
    admission = admission_for(settings)
    if not settings.pool.enabled:
        cold = ColdBackend(
            request.runtime,
            admission,
            timeout_s=settings.max_timeout_s,
            sessions=request.sessions,
        )
        return CoreBackend(backend=cold, pool=NoPool(), admission=admission)
    pool = ProcessPool(
        CliProcesses(request.runtime),
        settings.pool,
        Profile(system_prompt=""),
        request.default_model,
    )
    pool.attach(stack.background)
    stack.push_async_callback(pool.close)
    backend = PooledBackend(
        pool,
        admission,
        timeout_s=settings.max_timeout_s,
        sessions=request.sessions,
        transcript_cwd=request.runtime.cwd,
    )
    return CoreBackend(backend=backend, pool=pool, admission=admission)
