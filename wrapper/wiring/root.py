"""The composition root: the AppContext built from Settings, once, in the lifespan.

Everything created here is released through the lifespan's stack: the backend and
its processes, the stores, the HTTP clients, and the isolated working directory
when ``CLAUDE_CWD`` is not set. Background work runs in the stack's task group.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from functools import partial
from pathlib import Path

import anyio

from wrapper import __version__
from wrapper.agent.mcp_servers import McpRegistry
from wrapper.agent.prepare import AgentMode
from wrapper.agent.tools_config import ToolsConfigStore
from wrapper.api.context import Agent, AppContext, Engine, Stores, Upstream, Versions
from wrapper.backend.cli_environment import host_environment, install_launcher
from wrapper.backend.cli_path import claude_cli_path
from wrapper.backend.layers.workspace import WorkspaceBackend
from wrapper.backend.options import CliRuntime
from wrapper.backend.reaper import stop_leftover_cli_processes
from wrapper.backend.sandbox import sandbox_available
from wrapper.backend.versions import CLI_VERSION, SDK_VERSION
from wrapper.backend.workspaces import Workspaces
from wrapper.config import Settings
from wrapper.logging import get_logger
from wrapper.models.catalogue import (
    FALLBACK_DEFAULT_MODEL,
    STATIC_MODELS,
    ModelInfo,
    latest_of_family,
)
from wrapper.policy.ratelimit_redis import open_redis_rate_store
from wrapper.sessions.factory import open_session_manager
from wrapper.sessions.service import SessionManager
from wrapper.storage.responses_durable import DurableResponseStore
from wrapper.upstream.auth import detect_upstream_auth
from wrapper.upstream.count_tokens import open_token_counter
from wrapper.usage.factory import open_usage_store
from wrapper.usage.key_ledger import KeyLedger
from wrapper.usage.plan_windows import PlanWindows
from wrapper.wiring.backend import CoreRequest, OpenCore, open_core_backend
from wrapper.wiring.layers import feed_backend_gauges, guard_cpu, make_resilient
from wrapper.wiring.lifespan import LifespanStack
from wrapper.wiring.operations import build_operations, open_served_models

log = get_logger(__name__)

_COUNT_TOKENS_TIMEOUT_S = 60.0
# What the SDK names this server as upstream (its ``client_app``): this program and
# its version, never the calling client's name.
CLIENT_APP = f"claude-wrapper/{__version__}"


def _catalogue(settings: Settings) -> tuple[ModelInfo, ...]:
    override = settings.models.override
    if not override:
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
        for model_id in override
    )


def _config_directory(settings: Settings) -> Path:
    """``DATA_DIR/claude``: the CLI's own config dir (transcripts), isolated from HOME.

    With ``LOAD_FILESYSTEM_SETTINGS`` it is the operator's own (``CLAUDE_CONFIG_DIR``
    or ``~/.claude``), where the CLI reads the user settings and the user's CLAUDE.md.
    """
    if settings.load_filesystem_settings:
        configured = settings.environ.get("CLAUDE_CONFIG_DIR", "").strip()
        return Path(configured).expanduser() if configured else Path.home() / ".claude"
    config_dir = Path(settings.data_dir).expanduser().resolve() / "claude"
    config_dir.mkdir(parents=True, exist_ok=True)
    return config_dir


def _tool_wait_env(settings: Settings) -> dict[str, str]:
    """Let a client tool call wait (parked) as long as the pool keeps it."""
    wait_ms = str(int((settings.pool.park_timeout_s + 60) * 1000))
    return {"MCP_TOOL_TIMEOUT": wait_ms, "CLAUDE_CODE_SDK_MCP_TOOL_IDLE_TIMEOUT": wait_ms}


def _working_directory(settings: Settings, stack: LifespanStack) -> str:
    if settings.claude_cwd:
        return settings.claude_cwd
    path = tempfile.mkdtemp(prefix="claude-wrapper-cwd-")
    stack.callback(shutil.rmtree, path, True)
    return str(Path(path).resolve())


async def _open_workspaces(settings: Settings, stack: LifespanStack) -> Workspaces:
    """``DATA_DIR/workspaces`` (``CLAUDE_CWD`` overrides it); one-shot ones cleared."""
    data = await anyio.to_thread.run_sync(lambda: Path(settings.data_dir).expanduser().resolve())
    root = data / "workspaces"
    workspaces = Workspaces(root, override=settings.claude_cwd)
    await workspaces.clear_turns()
    stack.push_async_callback(workspaces.clear_turns)
    return workspaces


async def sweep_agent_state(
    workspaces: Workspaces,
    configs: ToolsConfigStore,
    sessions: SessionManager,
    interval_s: float = 60.0,
) -> None:
    """Remove the workspaces and tools config overrides of expired sessions, once a
    minute, until cancelled."""
    while True:
        await anyio.sleep(interval_s)
        try:
            live = [record.session_id for record in await sessions.list_sessions()]
            await workspaces.sweep(live)
            await configs.sweep(live)
        except Exception:  # a background loop must outlive a bad sweep
            log.exception("workspaces.sweep_failed")


def _sandbox(settings: Settings) -> bool | None:
    """``TOOLS_SANDBOX``: ``on`` requires the Bash sandbox, ``auto`` uses it where the
    platform has it (and says so once when it does not)."""
    if settings.tools_sandbox == "off":
        return None
    if settings.tools_sandbox == "on":
        return True
    if sandbox_available():
        return False
    if settings.enable_server_tools:
        log.warning(
            "tools.unsandboxed",
            reason="no bubblewrap and socat (Linux) or sandbox-exec (macOS) on PATH",
        )
    return None


def _default_model(settings: Settings, models: tuple[ModelInfo, ...]) -> str:
    return (
        settings.models.default_model
        or latest_of_family(models, "sonnet")
        or (models[0].id if models else FALLBACK_DEFAULT_MODEL)
    )


async def build_context(
    settings: Settings, stack: LifespanStack, *, open_core: OpenCore = open_core_backend
) -> AppContext:
    """The AppContext for ``settings``; its resources are released by ``stack``.

    ``open_core`` builds the backend the layers wrap (the CLI's, by default; tests
    pass a scripted one and get the rest of the app exactly as it runs).
    """
    background = stack.background
    config_dir = await anyio.to_thread.run_sync(_config_directory, settings)
    # A stored CLI login needs the login's own config dir.
    upstream_auth = detect_upstream_auth(settings.upstream.auth_method, settings.environ)
    launcher = await anyio.to_thread.run_sync(
        lambda: install_launcher(Path(settings.data_dir).expanduser().resolve() / "bin")
    )
    usage_store = await open_usage_store(settings, stack)
    plan = PlanWindows(usage_store)
    background.start_soon(plan.run_flusher)
    ledger = KeyLedger(usage_store)
    background.start_soon(ledger.run_flusher)
    # Before the store closes (the stack unwinds in reverse), what is pending is written.
    stack.push_async_callback(ledger.flush)
    runtime = CliRuntime(
        config_dir=upstream_auth.login_config_dir or str(config_dir),
        auth_env=upstream_auth.cli_env,
        cwd=_working_directory(settings, stack),
        load_filesystem_settings=settings.load_filesystem_settings,
        extra_env=_tool_wait_env(settings),
        host_env=host_environment(
            settings.environ, (*upstream_auth.variables, *settings.cli_env_passthrough)
        ),
        launcher=str(launcher.path),
        freeze_idle=launcher.continues_on_parent_death,
        cli=claude_cli_path(),
        client_app=CLIENT_APP,
        on_rate_limit=plan.observe,
        sandbox_required=_sandbox(settings),
    )
    models = _catalogue(settings)
    # The live catalogue, when configured, decides the default: its newest Sonnet.
    served_models = await open_served_models(
        settings, models=models, default_model=_default_model(settings, models)
    )
    default_model = served_models.default_model
    # Sessions come first: turns of a client session run through them.
    sessions = await open_session_manager(settings, stack)
    core = await open_core(
        CoreRequest(
            settings=settings, runtime=runtime, default_model=default_model, sessions=sessions
        ),
        stack,
    )
    # count_tokens uses the key and base URL the CLI processes use (none for login/cloud).
    child_env = {**settings.environ, **runtime.env()}
    token_counter = await stack.enter_async_context(
        open_token_counter(
            child_env, timeout_s=min(settings.max_timeout_s, _COUNT_TOKENS_TIMEOUT_S)
        )
    )
    # Stored responses ride on the session store: durable, and shared by replicas.
    responses = DurableResponseStore(sessions.transcripts)
    background.start_soon(responses.run_sweeper)
    cli = claude_cli_path()
    if cli:
        # The last step of shutdown: no CLI process outlives the server.
        stack.final.append(partial(stop_leftover_cli_processes, cli))
    workspaces = await _open_workspaces(settings, stack)
    agent_mode = AgentMode(
        configs=ToolsConfigStore(sessions.transcripts),
        mcp=McpRegistry(sessions.transcripts),
        default_max_turns=settings.default_max_turns,
    )
    background.start_soon(sweep_agent_state, workspaces, agent_mode.configs, sessions)
    parts = await build_operations(
        settings,
        backend=guard_cpu(settings, WorkspaceBackend(core.backend, workspaces), background),
        served_models=served_models,
        upstream_auth=upstream_auth,
        cli_command=[cli, "auth", "status", "--json"] if cli else None,
        cli_env=child_env,
        rate_store=await open_redis_rate_store(settings, stack),
        ledger=ledger,
        plan=plan,
    )
    if parts.probe_loop is not None:
        background.start_soon(parts.probe_loop)
    resilience = make_resilient(settings, parts.backend, parts.operations.metrics)
    background.start_soon(
        feed_backend_gauges(
            parts.operations.metrics,
            pool=core.pool,
            admission=core.admission,
            sessions=sessions,
        )
    )
    return AppContext(
        settings=settings,
        engine=Engine(
            backend=resilience.backend,
            pool=core.pool,
            admission=core.admission,
            breaker=resilience.breaker,
        ),
        models=served_models,
        upstream=Upstream(auth=upstream_auth, login=parts.login, token_counter=token_counter),
        stores=Stores(sessions=sessions, responses=responses),
        ops=parts.operations,
        agent=Agent(mode=agent_mode, workspaces=workspaces),
        versions=Versions(sdk=SDK_VERSION, cli=CLI_VERSION),
        started_at=time.time(),
    )
