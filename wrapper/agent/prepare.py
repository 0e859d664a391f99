"""A tool-enabled turn completed from the tools config and the MCP registry.

What the request said wins: its ``X-Claude-Allowed-Tools``, permission mode,
step limit and ``mcp_servers``. Where it said nothing, the session's tools
config, then the server-wide one, then the catalogue's defaults apply; the
disallowed tools of the config and of the request are both withheld. The step
limit falls back to ``WRAPPER_DEFAULT_MAX_TURNS``.
"""

from __future__ import annotations

import msgspec

from wrapper.agent.mcp_servers import McpRegistry
from wrapper.agent.tools_config import ToolsConfigStore
from wrapper.events import AgentSettings, Turn


class AgentMode(msgspec.Struct, frozen=True, kw_only=True):
    """Claude Code's tools: their config, the MCP registry and the default step limit."""

    configs: ToolsConfigStore
    mcp: McpRegistry
    default_max_turns: int

    async def prepare(self, turn: Turn) -> Turn:
        """``turn`` with the config's defaults applied (unchanged without server tools).

        Raises:
            InvalidRequestError: a named MCP server is unknown or not connected.
            BackendUnavailableError: the store failed.
        """
        if not turn.server_tools:
            return turn
        agent = turn.agent or AgentSettings()
        config = await self.configs.effective(turn.session_id)
        allowed = agent.allowed_tools if agent.allowed_tools is not None else config.allowed_tools
        disallowed = (*(config.disallowed_tools or ()), *agent.disallowed_tools)
        named = agent.mcp_names
        param = "mcp_servers"
        if named is None:
            named, param = config.mcp_servers or (), "tools config mcp_servers"
        servers = await self.mcp.for_turn(named, param) if named else ()
        resolved = msgspec.structs.replace(
            agent,
            allowed_tools=allowed,
            disallowed_tools=tuple(dict.fromkeys(disallowed)),
            permission_mode=agent.permission_mode or config.permission_mode,
            mcp_names=named,
            mcp_servers=servers,
        )
        max_turns = turn.max_turns or config.max_turns or self.default_max_turns
        return msgspec.structs.replace(turn, agent=resolved, max_turns=max_turns)
