"""How a Turn becomes ``ClaudeAgentOptions``: the CLI flags and environment of a process.

The defaults send the model only what the client asked for: the client's own
system prompt (as a plain string, the only shape the SDK passes on), none of
Claude Code's built-in tools, no filesystem settings, CLAUDE.md, hooks or
plugins, and the client's tools as in-process MCP tools under their own names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from claude_agent_sdk import ClaudeAgentOptions, HookContext, HookInput, HookMatcher
from claude_agent_sdk.types import SyncHookJSONOutput

from wrapper.backend.profile import SERVER_TOOLS, Profile
from wrapper.backend.tool_gate import ToolGate, client_tool_server
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
}

# Variables of this server that must never reach the CLI (the model could read them
# through a shell tool). The SDK merges over the inherited environment, so they are
# blanked rather than removed.
_MASKED = ("API_KEY",)


class CliRuntime(msgspec.Struct, frozen=True, kw_only=True):
    """What every CLI process of this server shares; built once at startup."""

    config_dir: str
    cwd: str
    auth_env: dict[str, str] = {}
    load_filesystem_settings: bool = False
    extra_env: dict[str, str] = {}

    def env(self) -> dict[str, str]:
        """The environment overrides for a CLI process."""
        env = dict(_FIXED_ENV)
        env.update(dict.fromkeys(_MASKED, ""))
        env.update(self.auth_env)
        env["CLAUDE_CONFIG_DIR"] = self.config_dir
        env.update(self.extra_env)
        return env

    @property
    def config_path(self) -> Path:
        return Path(self.config_dir)


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
) -> ClaudeAgentOptions:
    """The SDK options of a process serving ``profile``.

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
        allowed.append(f"mcp__{CLIENT_TOOL_SERVER}")
    if profile.server_tools:
        allowed.extend(SERVER_TOOLS)
    extra_args: dict[str, str | None] = {}
    if not persist:
        extra_args["no-session-persistence"] = None
    output_format = None
    if profile.output_schema is not None:
        output_format = {"type": "json_schema", "schema": profile.output_schema}
    hooks: dict[Any, list[HookMatcher]] | None = None
    if profile.must_call_tool:
        hooks = {"Stop": [HookMatcher(hooks=[_require_a_tool_call])]}
    env = runtime.env()
    if profile.max_output_tokens is not None:
        env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(profile.max_output_tokens)
    if resume is not None and answer_last:
        env["CLAUDE_CODE_RESUME_INTERRUPTED_TURN"] = "1"
    return ClaudeAgentOptions(
        system_prompt=profile.system_prompt,
        tools=list(SERVER_TOOLS) if profile.server_tools else [],
        setting_sources=None if runtime.load_filesystem_settings else [],
        strict_mcp_config=True,
        mcp_servers=mcp_servers,
        allowed_tools=allowed,
        include_partial_messages=True,
        model=model,
        cwd=runtime.cwd,
        env=env,
        resume=resume,
        session_id=session_id,
        session_store=session_store,
        session_store_flush="eager" if session_store is not None else "batched",
        output_format=output_format,
        effort=profile.effort,  # type: ignore[arg-type]
        thinking=_thinking(profile.thinking),
        max_turns=profile.max_turns,
        hooks=hooks,
        extra_args=extra_args,
    )
