"""How a Turn becomes ``ClaudeAgentOptions``: the CLI flags and environment of a process.

The defaults send the model only what the client asked for: the client's own
system prompt (as a plain string, the only shape the SDK passes on), none of
Claude Code's built-in tools, no filesystem settings, CLAUDE.md, hooks or
plugins, and the client's tools as in-process MCP tools under their own names.

What the CLI still adds to a request (docs/upstream-requests.md has the figures):
its identity line ("You are a Claude agent, built on Anthropic's Claude Agent
SDK.", always first in ``system``); with a CLI login, or when bare mode is off,
also its attribution line and, once per conversation, an environment note
(working directory, platform, shell, OS version), the model's name and today's
date; for newer models an empty ``system`` turn carrying the effort; and the
StructuredOutput tool when the client asked for a JSON schema.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from claude_agent_sdk import ClaudeAgentOptions, HookContext, HookInput, HookMatcher
from claude_agent_sdk.types import SyncHookJSONOutput

from wrapper.backend.cli_environment import launched
from wrapper.backend.profile import Profile
from wrapper.backend.sandbox import sandbox_settings
from wrapper.backend.tool_gate import TOOL_SEARCH, ToolGate, client_tool_server
from wrapper.events import ThinkingConfig

CLIENT_TOOL_SERVER = "client"

# Environment every CLI process gets (merged over the inherited environment).
_FIXED_ENV: dict[str, str] = {
    # Client tools are offered directly, not behind the ToolSearch tool.
    "ENABLE_TOOL_SEARCH": "false",
    # In-process MCP tools keep the client's names (no ``mcp__client__`` prefix).
    "CLAUDE_AGENT_SDK_MCP_NO_PREFIX": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    # This server retries itself, before any output, and never after.
    "CLAUDE_CODE_MAX_RETRIES": "0",
    # A stream that fails midway must fail, not be silently redone without streaming
    # (the redone text would not match what the client already received).
    "CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK": "1",
    # What keeps upstream requests lean (measured in docs/upstream-requests.md):
    # No "<total_tokens>N tokens left</total_tokens>" countdown: it changes on every
    # request, so it would cost tokens and move inside the cached prefix.
    "CLAUDE_CODE_TOTAL_TOKENS_REMINDER": "off",
    # No auto-memory: a memory directory would carry what one client said into
    # another client's conversation, and its index into every request.
    "CLAUDE_CODE_DISABLE_AUTO_MEMORY": "1",
}

# Without LOAD_FILESYSTEM_SETTINGS: no CLAUDE.md at all, not even the machine's
# managed one (/etc/claude-code/CLAUDE.md), which ``setting_sources=[]`` still loads.
_ISOLATED_ENV: dict[str, str] = {"CLAUDE_CODE_DISABLE_CLAUDE_MDS": "1"}

# When the CLI authenticates with ANTHROPIC_API_KEY. Bare mode (``--bare``) sends no
# environment note (cwd, platform, shell, OS version), model-identity line or date
# with each conversation, so the request holds the client's text plus the CLI's
# one-line identity prefix, and the prefix stays the same on every turn, resumed or
# not. Bare mode accepts no other Anthropic auth (no CLI login, no OAuth token) and
# runs no hooks, so it is used only with an API key, without
# LOAD_FILESYSTEM_SETTINGS, and for processes that need no hook (see build_options).
# The attribution line ("x-anthropic-billing-header: cc_version=...") is dropped too:
# it varies with each conversation's first message and sits first in the system
# prompt; a CLI login (subscription) keeps it.
_API_KEY_ENV: dict[str, str] = {"CLAUDE_CODE_ATTRIBUTION_HEADER": "0"}
_BARE = "CLAUDE_CODE_SIMPLE"

# Variables of this server that must never reach the CLI (the model could read them
# through a shell tool). Without the launcher (backend/cli_environment.py) the SDK
# merges over the inherited environment, so they are blanked rather than removed.
_MASKED = ("API_KEY", "API_KEYS", "API_KEYS_FILE")


class CliRuntime(msgspec.Struct, frozen=True, kw_only=True):
    """What every CLI process of this server shares; built once at startup."""

    config_dir: str
    cwd: str
    auth_env: dict[str, str] = {}
    load_filesystem_settings: bool = False
    extra_env: dict[str, str] = {}
    # The allow-listed host variables, and the launcher that keeps the CLI to them
    # (with the real CLI it runs); without a launcher the CLI inherits everything.
    host_env: dict[str, str] = {}
    launcher: str | None = None
    cli: str | None = None
    # Whether idle pooled CLIs may be frozen: the launcher continues them if the
    # server dies (``cli_environment.py``).
    freeze_idle: bool = False
    # Names this server upstream (the SDK's ``client_app``; sent with a subscription login).
    client_app: str | None = None
    # Receives every rate-limit reading a process reports (the CLI's raw JSON object).
    on_rate_limit: Callable[[dict[str, Any]], None] | None = None
    # Claude Code's Bash tool sandboxed (``TOOLS_SANDBOX``): None off, else required.
    sandbox_required: bool | None = None

    def env(self) -> dict[str, str]:
        """The environment of a CLI process (over the inherited one without a launcher)."""
        env = dict(self.host_env)
        env.update(_FIXED_ENV)
        if self.launcher is None:
            env.update(dict.fromkeys(_MASKED, ""))
        if not self.load_filesystem_settings:
            env.update(_ISOLATED_ENV)
        env[_BARE] = "1" if self.bare_mode else ""
        if self.api_key_auth:
            env.update(_API_KEY_ENV)
        env.update(self.auth_env)
        env["CLAUDE_CONFIG_DIR"] = self.config_dir
        env.update(self.extra_env)
        return env

    @property
    def api_key_auth(self) -> bool:
        """Whether the CLI authenticates with ``ANTHROPIC_API_KEY`` (the auth method's env)."""
        return bool(self.auth_env.get("ANTHROPIC_API_KEY"))

    @property
    def bare_mode(self) -> bool:
        """Whether processes may run in bare mode (API key auth, no filesystem settings)."""
        return self.api_key_auth and not self.load_filesystem_settings

    @property
    def config_path(self) -> Path:
        return Path(self.config_dir)

    def cwd_for(self, profile: Profile) -> str:
        """Where a process of ``profile`` runs: its private workspace, or the shared cwd."""
        return profile.cwd or self.cwd


_MUST_CALL = "You have not called a tool yet. Call the required tool now, as instructed."


async def _require_a_tool_call(
    hook_input: HookInput, tool_use_id: str | None, context: HookContext
) -> SyncHookJSONOutput:
    """A Stop hook: a reply that ends without a client tool call is sent back once.

    A reply that calls a client tool never reaches Stop (the call parks for the
    client), so reaching it means no call was made.
    """
    if hook_input.get("stop_hook_active"):
        return {}
    return {"decision": "block", "reason": _MUST_CALL}


def _thinking(config: ThinkingConfig | None) -> Any:
    if config is None:
        return None
    if config.mode == "enabled":
        return {"type": "enabled", "budget_tokens": config.budget_tokens or 8000}
    return {"type": config.mode}


def build_options(
    runtime: CliRuntime,
    profile: Profile,
    *,
    model: str | None,
    gate: ToolGate,
    resume: str | None = None,
    answer_last: bool = False,
    persist: bool = False,
    session_id: str | None = None,
    session_store: Any = None,
    unbound: bool = False,
) -> ClaudeAgentOptions:
    """The SDK options of a process serving ``profile``.

    With ``unbound``, the options of a spare that waits to be bound (``--await-claim``)
    to a profile whose :attr:`~Profile.base` is ``profile``: the client's tools are
    allowed, though the spare has none until binding gives it them.

    With ``resume``, the process loads that session; with ``answer_last`` too, a
    transcript that ends with a user message is answered at once (no new prompt
    is sent): this is how a client's whole conversation, tool results included,
    reaches the model as real turns. ``session_store`` mirrors the transcript to a
    durable store (a client session), which needs ``persist``.
    """
    mcp_servers: dict[str, Any] = {}
    allowed: list[str] = []
    if profile.tools:
        mcp_servers[CLIENT_TOOL_SERVER] = client_tool_server(
            CLIENT_TOOL_SERVER, profile.tools, gate
        )
    if profile.tools or unbound:
        allowed.append(f"mcp__{CLIENT_TOOL_SERVER}")
    if profile.server_tools:
        allowed.extend(profile.claude_tools)
        allowed.extend(profile.mcp_allowed)
        for server in profile.mcp_servers:
            mcp_servers[server.name] = dict(server.config)
    extra_args: dict[str, str | None] = {}
    if not persist:
        extra_args["no-session-persistence"] = None
    if unbound:
        extra_args["await-claim"] = None
    output_format = None
    if profile.output_schema is not None:
        output_format = {"type": "json_schema", "schema": profile.output_schema}
    hooks: dict[Any, list[HookMatcher]] | None = None
    if profile.must_call_tool:
        hooks = {"Stop": [HookMatcher(hooks=[_require_a_tool_call])]}
    env = runtime.env()
    if hooks is not None or profile.server_tools:
        # Bare mode runs no hooks (and this process needs its Stop hook), and it
        # offers only Bash, Edit and Read of Claude Code's own tools.
        env[_BARE] = ""
    disallowed = list(profile.mcp_disallowed)
    if TOOL_SEARCH in profile.tool_names:
        # The client's own ToolSearch: see tool_gate.py.
        env["ENABLE_TOOL_SEARCH"] = "true"
        disallowed.append(TOOL_SEARCH)
    if profile.max_output_tokens is not None:
        env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(profile.max_output_tokens)
    if resume is not None and answer_last:
        env["CLAUDE_CODE_RESUME_INTERRUPTED_TURN"] = "1"
    if runtime.launcher is not None and runtime.cli is not None:
        env = launched(env, runtime.cli)
    return ClaudeAgentOptions(
        cli_path=runtime.launcher if runtime.cli is not None else None,
        system_prompt=profile.system_prompt,
        tools=list(profile.claude_tools) if profile.server_tools else [],
        # No settings, CLAUDE.md, hooks, skills or plugins of the server's HOME or cwd;
        # skills=[] also hides the CLI's bundled skills from the model.
        setting_sources=None if runtime.load_filesystem_settings else [],
        skills=None if runtime.load_filesystem_settings else [],
        strict_mcp_config=True,
        mcp_servers=mcp_servers,
        allowed_tools=allowed,
        disallowed_tools=disallowed,
        permission_mode=profile.permission_mode,  # type: ignore[arg-type]
        include_partial_messages=True,
        model=model,
        cwd=runtime.cwd_for(profile),
        env=env,
        resume=resume,
        session_id=session_id,
        session_store=session_store,
        session_store_flush="eager" if session_store is not None else "batched",
        output_format=output_format,
        effort=profile.effort,  # type: ignore[arg-type]
        thinking=_thinking(profile.thinking),
        max_turns=profile.max_turns,
        sandbox=(
            sandbox_settings(runtime.sandbox_required)  # type: ignore[arg-type]
            if profile.server_tools and runtime.sandbox_required is not None
            else None
        ),
        hooks=hooks,
        extra_args=extra_args,
        client_app=runtime.client_app,
    )
