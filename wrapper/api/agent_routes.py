"""The agent-mode routes: Claude Code's tools, the tools config, the MCP registry.

The routes that change what every client's requests get, or run commands
(``POST /v1/tools/config`` and every changing ``/v1/mcp`` route), are admin-only:
a user key gets a 403 from them.
"""

from __future__ import annotations

from wrapper.api.context import AppContext
from wrapper.api.mcp import McpAPI
from wrapper.api.tools import ToolsAPI
from wrapper.http.routing import Doc, Route
from wrapper.schemas import agent


def agent_routes(ctx: AppContext) -> list[Route]:
    tools = ToolsAPI(ctx)
    mcp = McpAPI(ctx)
    return [
        Route(
            "GET",
            "/v1/tools",
            tools.list,
            name="tools.list",
            doc=Doc("Claude Code's own tools, with descriptions", response=agent.ToolList),
        ),
        Route(
            "GET",
            "/v1/tools/config",
            tools.get_config,
            name="tools.config.get",
            doc=Doc(
                "The tools config (server-wide, or a session's) and what requests get",
                response=agent.ToolsConfigObject,
                query={"session_id": "a session's override instead of the server-wide one"},
            ),
        ),
        Route(
            "POST",
            "/v1/tools/config",
            tools.set_config,
            name="tools.config.set",
            admin=True,
            doc=Doc(
                "Set the defaults of tool-enabled requests (persisted)",
                body=agent.ToolsConfigUpdate,
                response=agent.ToolsConfigObject,
                example={"allowed_tools": ["Read", "Write"], "permission_mode": "acceptEdits"},
            ),
        ),
        Route(
            "GET",
            "/v1/tools/stats",
            tools.stats,
            name="tools.stats",
            doc=Doc(
                "Tool calls Claude Code ran, by tool, with errors",
                response=agent.ToolStatsObject,
            ),
        ),
        Route(
            "GET",
            "/v1/mcp/servers",
            mcp.list,
            name="mcp.servers.list",
            doc=Doc("Registered MCP servers (secrets redacted)", response=agent.McpServerList),
        ),
        Route(
            "POST",
            "/v1/mcp/servers",
            mcp.register,
            name="mcp.servers.register",
            admin=True,
            doc=Doc(
                "Register a stdio, HTTP or SSE MCP server (stdio needs API_KEY and "
                "ENABLE_SERVER_TOOLS)",
                body=agent.McpRegistration,
                response=dict[str, object],
                example={"name": "docs", "type": "http", "url": "https://mcp.example/mcp"},
            ),
        ),
        Route(
            "DELETE",
            "/v1/mcp/servers/{name}",
            mcp.remove,
            name="mcp.servers.remove",
            admin=True,
            doc=Doc("Remove a registered MCP server", response=agent.McpMessage),
        ),
        Route(
            "POST",
            "/v1/mcp/connect",
            mcp.connect,
            name="mcp.connect",
            admin=True,
            doc=Doc(
                "Start or reach a server, list its tools, and offer it to requests",
                body=agent.McpServerName,
                response=agent.McpConnected,
            ),
        ),
        Route(
            "POST",
            "/v1/mcp/disconnect",
            mcp.disconnect,
            name="mcp.disconnect",
            admin=True,
            doc=Doc(
                "Stop offering a server to requests",
                body=agent.McpServerName,
                response=agent.McpMessage,
            ),
        ),
        Route(
            "GET",
            "/v1/mcp/stats",
            mcp.stats,
            name="mcp.stats",
            doc=Doc(
                "Registered and connected MCP servers and their tools", response=agent.McpStats
            ),
        ),
    ]
