"""Building the app's dependencies from Settings (called once, in the lifespan).

Everything created here is released through the given exit stack: the backend,
and the isolated working directory when ``CLAUDE_CWD`` is not set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

import anyio
import anyio.abc

from wrapper.api.context import AppContext
from wrapper.backend.cli_path import claude_cli_path
from wrapper.backend.options import CliRuntime
from wrapper.backend.reaper import stop_leftover_cli_processes
from wrapper.backend.versions import CLI_VERSION, SDK_VERSION
from wrapper.config import Settings
from wrapper.events import Backend
from wrapper.models.catalogue import (
    FALLBACK_DEFAULT_MODEL,
    STATIC_MODELS,
    ModelInfo,
    latest_of_family,
)
from wrapper.policy.ratelimit_redis import open_redis_rate_store
from wrapper.sessions.factory import open_session_manager
from wrapper.storage.responses_durable import DurableResponseStore
from wrapper.upstream.auth import detect_upstream_auth
from wrapper.upstream.count_tokens import open_token_counter
from wrapper.wiring.backend import build_backend
from wrapper.wiring.layers import feed_backend_gauges, guard_cpu, make_resilient
from wrapper.wiring.operations import build_operations, open_served_models


class LifespanStack(AsyncExitStack):
    """The exit stack of the app's resources, with the lifespan's background task group.

    Components start long-running background work with ``background.start_soon``;
    the app cancels that group after the stack is closed at shutdown.
    """

    def __init__(self, background: anyio.abc.TaskGroup | None = None) -> None:
        super().__init__()
        self.background = background
        # operations (issue 7): run by the app after the background group stopped as well
        # (the very last steps of shutdown, when nothing can start new work)
        self.final: list[Callable[[], Awaitable[object]]] = []


def _catalogue(settings: Settings) -> tuple[ModelInfo, ...]:
    if not settings.models_override:
        return STATIC_MODELS
    known = {model.id: model for model in STATIC_MODELS}
    return tuple(
        known.get(model_id)
        or ModelInfo(
            id=model_id,
            display_name=model_id,
            family="custom",
            created=0,
            context_window=0,
            max_output_tokens=0,
        )
        for model_id in settings.models_override
    )


def _config_directory(settings: Settings) -> Path:
    """``DATA_DIR/claude``: the CLI's own config dir (transcripts), isolated from HOME.

    cost and isolation (issue 8): with ``LOAD_FILESYSTEM_SETTINGS`` it is the
    operator's own (``CLAUDE_CONFIG_DIR`` or ``~/.claude``), where the CLI reads the
    user settings and the user's CLAUDE.md.
    """
    if settings.load_filesystem_settings:
        configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
        return Path(configured).expanduser() if configured else Path.home() / ".claude"
    config_dir = Path(settings.data_dir).expanduser().resolve() / "claude"
    config_dir.mkdir(parents=True, exist_ok=True)
    return config_dir


def _tool_wait_env(settings: Settings) -> dict[str, str]:
    """Let a client tool call wait (parked) as long as the pool keeps it."""
    wait_ms = str(int((settings.pool_tool_park_s + 60) * 1000))
    return {"MCP_TOOL_TIMEOUT": wait_ms, "CLAUDE_CODE_SDK_MCP_TOOL_IDLE_TIMEOUT": wait_ms}


def _working_directory(settings: Settings, stack: AsyncExitStack) -> str:
    if settings.claude_cwd:
        return settings.claude_cwd
    path = tempfile.mkdtemp(prefix="claude-wrapper-cwd-")
    stack.callback(shutil.rmtree, path, True)
    return str(Path(path).resolve())


async def build_context(settings: Settings, stack: AsyncExitStack) -> AppContext:
    """The AppContext for ``settings``; its resources are released by ``stack``."""
    config_dir = await anyio.to_thread.run_sync(_config_directory, settings)
    # operations (issue 7): the CLI's upstream auth env; a stored CLI login needs its own dir
    upstream_auth = detect_upstream_auth(settings.claude_auth_method, os.environ)
    runtime = CliRuntime(
        config_dir=upstream_auth.login_config_dir or str(config_dir),
        auth_env=upstream_auth.cli_env,
        cwd=_working_directory(settings, stack),
        load_filesystem_settings=settings.load_filesystem_settings,
        extra_env=_tool_wait_env(settings),
    )
    models = _catalogue(settings)
    default_model = (
        settings.default_model
        or latest_of_family(models, "sonnet")
        or (models[0].id if models else FALLBACK_DEFAULT_MODEL)
    )
    # operations (issue 7): the served model list; the live one's newest Sonnet is the default
    served_models = await open_served_models(
        settings, os.environ, models=models, default_model=default_model
    )
    default_model = served_models.default_model
    backend: Backend
    # Sessions come first: turns of a client session run through them.
    sessions = await open_session_manager(settings, stack)
    backend, pool, admission = await build_backend(
        settings,
        runtime,
        default_model=default_model,
        stack=stack,
        background=stack.background if isinstance(stack, LifespanStack) else None,
        sessions=sessions,
    )
    extras: dict[str, object] = {"pool": pool, "admission": admission}
    # -- Anthropic Messages (issue 4): components below this line --
    # count_tokens uses the key and base URL the CLI processes use (none for login/cloud).
    extras["token_counter"] = await stack.enter_async_context(
        open_token_counter(
            {**os.environ, **runtime.env()}, timeout_s=min(settings.max_timeout_s, 60.0)
        )
    )
    # -- OpenAI Responses (issue 4): components below this line --
    # Stored responses ride on the session store: durable, and shared by replicas.
    response_store = DurableResponseStore(sessions.transcripts)
    extras["response_store"] = response_store
    if isinstance(stack, LifespanStack) and stack.background is not None:
        stack.background.start_soon(response_store.run_sweeper)
    # -- sessions (issue 6): components below this line --
    extras["sessions"] = sessions
    # -- operations (issue 7): components below this line --
    cli = claude_cli_path()
    # operations (issue 7): a turn whose CLI goes over MAX_TURN_CPU_SECONDS is killed;
    # the last step of shutdown: no CLI process outlives the server
    background = stack.background if isinstance(stack, LifespanStack) else None
    if isinstance(stack, LifespanStack):
        stack.final.append(partial(stop_leftover_cli_processes, cli))
    backend = guard_cpu(settings, backend, background)
    ops = await build_operations(
        settings,
        backend=backend,
        served_models=served_models,
        upstream_auth=upstream_auth,
        cli_command=[cli, "auth", "status", "--json"] if cli else None,
        cli_env={**os.environ, **runtime.env()},
        rate_store=await open_redis_rate_store(settings, stack),
    )
    if ops.probe_loop is not None and isinstance(stack, LifespanStack) and stack.background:
        stack.background.start_soon(ops.probe_loop)
    backend = ops.backend
    extras.update(ops.fields())
    # operations (issue 7): retries, fallback model and circuit breaker; the backend gauges
    resilience = make_resilient(settings, ops.backend, ops.metrics)
    backend = resilience.backend
    extras["circuit_breaker"] = resilience.breaker
    gauges = feed_backend_gauges(ops.metrics, pool=pool, admission=admission, sessions=sessions)
    if gauges is not None and background is not None:
        background.start_soon(gauges)
    return AppContext(
        settings=settings,
        backend=backend,
        models=models,
        default_model=default_model,
        sdk_version=SDK_VERSION,
        cli_version=CLI_VERSION,
        **extras,  # type: ignore[arg-type]
    )
