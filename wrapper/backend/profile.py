"""A process profile: everything about a turn that is fixed when its CLI process starts.

The CLI takes its system prompt, tool set, structured-output schema, effort,
thinking and output limit as start-up flags, so two turns can share a warm
process only when their profiles are equal. This module also applies the
client's ``tool_choice`` and ``parallel_tool_calls``, which the CLI cannot pass
upstream:

* a named tool choice offers only that tool, and tells the model to call it;
* ``none`` withholds the tools (unless earlier turns used them, in which case
  their definitions stay, the model is told not to call any, and a call it
  makes anyway is answered with an error so that it goes on in text);
* ``required`` tells the model it must call a tool, and if its reply ends
  without one, sends it back once (a ``Stop`` hook) to make the call;
  a named tool choice does the same for that tool;
* ``parallel_tool_calls: false`` tells the model to call at most one tool, and
  the turn reader drops any further call of the same reply.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import msgspec

from wrapper.agent.catalogue import DEFAULT_PERMISSION_MODE, DEFAULT_TOOLS, TOOL_NAMES
from wrapper.backend.tool_gate import TOOL_SEARCH
from wrapper.events import (
    AgentSettings,
    McpServer,
    ThinkingConfig,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    Turn,
)

_REQUIRED = "In your next reply you must call at least one of the available tools."
_NAMED = "In your next reply you must call the tool `{name}`."
_NONE = "Do not call any tool in your next reply; answer with text only."
_SINGLE = "Call at most one tool per reply."


class Profile(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """The start-up configuration of a CLI process (``dict``: room for the cached key)."""

    system_prompt: str
    tools: tuple[ToolSpec, ...] = ()
    output_schema: dict[str, Any] | None = None
    server_tools: bool = False
    effort: str | None = None
    thinking: ThinkingConfig | None = None
    max_output_tokens: int | None = None
    max_turns: int | None = None
    refuse_tool_calls: bool = False
    must_call_tool: bool = False
    # Claude Code's own tools (``server_tools``): the built-in tools offered, MCP tool
    # rules (``mcp__server[__tool]``) allowed and disallowed, the permission mode,
    # the registered MCP servers, and the private workspace the process runs in
    # (``disposable``: one turn's; such a process never serves another turn).
    claude_tools: tuple[str, ...] = ()
    mcp_allowed: tuple[str, ...] = ()
    mcp_disallowed: tuple[str, ...] = ()
    permission_mode: str | None = None
    mcp_servers: tuple[McpServer, ...] = ()
    cwd: str | None = None
    disposable: bool = False

    @functools.cached_property
    def key(self) -> str:
        """A stable digest (pool buckets, logs), computed once: the pool reads it many
        times a turn, and a coding agent's profile carries tens of KB of tools."""
        raw = msgspec.json.encode(self, order="deterministic")
        return hashlib.sha256(raw).hexdigest()[:16]

    @property
    def tool_names(self) -> frozenset[str]:
        return frozenset(tool.name for tool in self.tools)

    @property
    def base(self) -> Profile | None:
        """The profile of an unbound spare that can be bound to this one: all but the
        system prompt and the client's tools, which binding sets on a running process.
        None when binding cannot serve it: Claude Code's own tools (a workspace, MCP
        servers and tool rules of their own) and the client's ToolSearch (an
        environment switch) are fixed when a process starts."""
        if self.server_tools or TOOL_SEARCH in self.tool_names:
            return None
        return msgspec.structs.replace(self, system_prompt="", tools=())


def _history_uses_tools(turn: Turn) -> bool:
    return any(
        isinstance(part, ToolUsePart | ToolResultPart)
        for message in turn.messages
        for part in message.content
    )


def _agent_fields(turn: Turn) -> dict[str, Any]:
    """The profile fields of Claude Code's own tools (none unless ``server_tools``)."""
    if not turn.server_tools:
        return {}
    agent = turn.agent or AgentSettings()
    wanted = DEFAULT_TOOLS if agent.allowed_tools is None else agent.allowed_tools
    denied = frozenset(agent.disallowed_tools)
    built_in = tuple(name for name in wanted if name in TOOL_NAMES and name not in denied)
    mcp_allowed = tuple(name for name in wanted if name not in TOOL_NAMES and name not in denied)
    servers = tuple(server for server in agent.mcp_servers if f"mcp__{server.name}" not in denied)
    return {
        "claude_tools": built_in,
        "mcp_allowed": tuple(
            dict.fromkeys((*mcp_allowed, *(f"mcp__{server.name}" for server in servers)))
        ),
        "mcp_disallowed": tuple(name for name in agent.disallowed_tools if name not in TOOL_NAMES),
        "permission_mode": agent.permission_mode or DEFAULT_PERMISSION_MODE,
        "mcp_servers": servers,
        "cwd": agent.workspace,
        "disposable": agent.disposable,
    }


def profile_for(turn: Turn) -> Profile:
    """The profile that serves ``turn`` (tool choice applied)."""
    instructions: list[str] = []
    refuse = False
    tools = turn.tools
    choice = turn.tool_choice
    if tools:
        if choice.mode == "tool":
            tools = tuple(tool for tool in tools if tool.name == choice.name)
            instructions.append(_NAMED.format(name=choice.name))
        elif choice.mode == "required":
            instructions.append(_REQUIRED)
        elif choice.mode == "none":
            if _history_uses_tools(turn):
                instructions.append(_NONE)
                refuse = True
            else:
                tools = ()
        if tools and not turn.parallel_tool_calls and choice.mode != "none":
            instructions.append(_SINGLE)
    system = turn.system or ""
    if instructions:
        system = "\n\n".join([system, *instructions]) if system else "\n\n".join(instructions)
    return Profile(
        system_prompt=system,
        tools=tools,
        output_schema=turn.output_schema,
        server_tools=turn.server_tools,
        effort=turn.effort,
        thinking=turn.thinking,
        max_output_tokens=turn.max_output_tokens,
        max_turns=turn.max_turns if turn.server_tools else None,
        refuse_tool_calls=refuse,
        must_call_tool=bool(tools) and choice.mode in ("required", "tool"),
        **_agent_fields(turn),
    )
