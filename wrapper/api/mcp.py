"""``/v1/mcp/*``: register, connect, disconnect and count MCP servers.

Every route here changes or reveals what Claude Code may run: mark the
registration, removal, connect and disconnect routes admin-only where API keys
have roles.
"""

from __future__ import annotations

import time

import anyio
import msgspec

from wrapper.agent.mcp_probe import ProbeFailed, list_tools
from wrapper.agent.mcp_servers import McpServerEntry, check_name, entry_for
from wrapper.api.context import AppContext
from wrapper.errors import UpstreamError
from wrapper.http.request import Request, decode_json
from wrapper.http.responses import Response, json_response
from wrapper.logging import get_logger
from wrapper.schemas.agent import (
    MCP_NAME_DECODER,
    MCP_REGISTRATION_DECODER,
    McpConnected,
    McpMessage,
    McpServerList,
    McpStats,
)

log = get_logger(__name__)


class McpAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @property
    def stdio_allowed(self) -> bool:
        settings = self.ctx.settings
        return bool(settings.api_key) and settings.enable_server_tools

    async def list(self, request: Request) -> Response:
        entries = await self.ctx.agent.mode.mcp.all()
        return json_response(
            McpServerList(servers=[entry.view() for entry in entries], total=len(entries))
        )

    async def register(self, request: Request) -> Response:
        raw = await request.body(self.ctx.settings.max_request_size)
        body = decode_json(raw, MCP_REGISTRATION_DECODER)
        entry = entry_for(body, stdio_allowed=self.stdio_allowed)
        await self.ctx.agent.mode.mcp.put(entry)
        log.info("mcp.registered", server=entry.name, transport=entry.type)
        return json_response(entry.view())

    async def remove(self, request: Request) -> Response:
        name = check_name(request.path_params["name"], "name")
        registry = self.ctx.agent.mode.mcp
        await registry.get(name)
        await registry.remove(name)
        log.info("mcp.removed", server=name)
        return json_response(McpMessage(message=f"MCP server {name} removed"))

    async def connect(self, request: Request) -> Response:
        raw = await request.body(self.ctx.settings.max_request_size)
        name = decode_json(raw, MCP_NAME_DECODER).server_name
        registry = self.ctx.agent.mode.mcp
        entry = await registry.get(name)
        cwd = self.ctx.agent.workspaces.root
        await anyio.to_thread.run_sync(lambda: cwd.mkdir(parents=True, exist_ok=True))
        try:
            tools = await list_tools(entry, cwd=str(cwd))
        except ProbeFailed as failed:
            await registry.put(
                msgspec.structs.replace(entry, connected=False, last_error=str(failed))
            )
            raise UpstreamError(
                f"Could not connect to MCP server {name!r}: {failed}", code="mcp_connect_failed"
            ) from None
        connected: McpServerEntry = msgspec.structs.replace(
            entry, connected=True, tools=tools, last_error=None, connected_at=time.time()
        )
        await registry.put(connected)
        log.info("mcp.connected", server=name, tools=len(tools))
        return json_response(
            McpConnected(
                message=f"Connected to MCP server {name}",
                server=connected.view(),
                tools=[{"name": t.name, "description": t.description} for t in tools],
            )
        )

    async def disconnect(self, request: Request) -> Response:
        raw = await request.body(self.ctx.settings.max_request_size)
        name = decode_json(raw, MCP_NAME_DECODER).server_name
        registry = self.ctx.agent.mode.mcp
        entry = await registry.get(name)
        await registry.put(msgspec.structs.replace(entry, connected=False))
        log.info("mcp.disconnected", server=name)
        return json_response(
            McpMessage(message=f"Disconnected MCP server {name}: requests no longer get it")
        )

    async def stats(self, request: Request) -> Response:
        entries = await self.ctx.agent.mode.mcp.all()
        connected = [entry for entry in entries if entry.connected]
        return json_response(
            McpStats(
                mcp_available=True,
                registered_servers=len(entries),
                connected_servers=len(connected),
                total_tools=sum(len(entry.tools) for entry in connected),
                servers=[
                    {
                        "name": entry.name,
                        "type": entry.type,
                        "connected": entry.connected,
                        "enabled": entry.enabled,
                        "tools": len(entry.tools),
                        "last_error": entry.last_error,
                    }
                    for entry in entries
                ],
            )
        )
