"""The MCP server registry: servers the operator registers for Claude Code to connect.

A server is registered (``POST /v1/mcp/servers``), checked and made available to
requests (``POST /v1/mcp/connect``: really started or reached, its tools listed),
or withdrawn (``POST /v1/mcp/disconnect``). A request opts in by name
(``mcp_servers``, or the tools config's default); each CLI process then starts
(stdio) or reaches (HTTP, SSE) its own connection, and the model sees the
server's tools directly as ``mcp__<server>__<tool>``.

Registering a stdio server is command execution on this machine: it is refused
unless the server has an ``API_KEY`` and ``ENABLE_SERVER_TOOLS=true``. Secrets in
a server's ``env`` or ``headers`` are stored (the CLI needs them) but never
echoed back: views show their names only.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

import msgspec

from wrapper.agent.documents import Documents
from wrapper.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from wrapper.events import McpServer
from wrapper.schemas.agent import McpRegistration
from wrapper.sessions.protocols import TranscriptStore

PROJECT_KEY = "claude-wrapper-mcp-servers"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_COMMAND = 1000
REDACTED = "<redacted>"

Transport = Literal["stdio", "http", "sse"]


class McpTool(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str = ""


class McpServerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A registered server, as stored."""

    name: str
    type: Transport
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = {}
    url: str | None = None
    headers: dict[str, str] = {}
    description: str = ""
    enabled: bool = True
    connected: bool = False
    tools: tuple[McpTool, ...] = ()
    last_error: str | None = None
    created_at: float = 0.0
    connected_at: float | None = None

    def sdk_config(self) -> dict[str, Any]:
        """The server as the SDK's ``mcp_servers`` takes it."""
        if self.type == "stdio":
            return {
                "type": "stdio",
                "command": self.command,
                "args": list(self.args),
                "env": dict(self.env),
            }
        return {"type": self.type, "url": self.url, "headers": dict(self.headers)}

    def view(self) -> dict[str, Any]:
        """What GET shows: everything but the values of ``env`` and ``headers``."""
        shown: dict[str, Any] = msgspec.to_builtins(self)
        shown["env"] = dict.fromkeys(self.env, REDACTED)
        shown["headers"] = dict.fromkeys(self.headers, REDACTED)
        shown["tool_count"] = len(self.tools)
        return shown


def check_name(name: str, param: str = "name") -> str:
    if not _NAME.fullmatch(name):
        raise InvalidRequestError(
            f"{param} must be 1-64 letters, digits, '_' or '-' (it becomes part of tool names).",
            param=param,
        )
    return name


def entry_for(
    body: McpRegistration, *, stdio_allowed: bool, now: float | None = None
) -> McpServerEntry:
    """A registration checked and made an entry.

    Raises:
        InvalidRequestError: a field is missing or unusable.
        PermissionDeniedError: a stdio server on a server that does not allow commands.
    """
    check_name(body.name)
    kind: Transport = body.type or ("stdio" if body.command else "http")
    if kind == "stdio":
        if not body.command or not body.command.strip() or len(body.command) > _MAX_COMMAND:
            raise InvalidRequestError("A stdio server needs a command.", param="command")
        if not stdio_allowed:
            raise PermissionDeniedError(
                "Registering a stdio MCP server runs a command on this server: it needs "
                "API_KEY to be set and ENABLE_SERVER_TOOLS=true.",
                code="mcp_stdio_not_allowed",
            )
    elif not body.url or not body.url.startswith(("http://", "https://")):
        raise InvalidRequestError(f"An {kind} server needs an http(s) url.", param="url")
    if any("\0" in part for part in (body.command or "", *body.args)):
        raise InvalidRequestError("command and args must not hold NUL bytes.", param="args")
    return McpServerEntry(
        name=body.name,
        type=kind,
        command=body.command if kind == "stdio" else None,
        args=tuple(body.args) if kind == "stdio" else (),
        env=dict(body.env) if kind == "stdio" else {},
        url=body.url if kind != "stdio" else None,
        headers=dict(body.headers) if kind != "stdio" else {},
        description=body.description,
        enabled=body.enabled,
        created_at=now if now is not None else time.time(),
    )


class McpRegistry:
    """Registered servers, kept in the session store."""

    def __init__(self, transcripts: TranscriptStore) -> None:
        self.documents = Documents(transcripts, PROJECT_KEY)

    async def get(self, name: str) -> McpServerEntry:
        """Raises: NotFoundError: no server of that name."""
        data = await self.documents.get(check_name(name, "server_name"))
        if data is None:
            raise NotFoundError(f"MCP server {name!r} is not registered.", code="mcp_not_found")
        return msgspec.convert(data, McpServerEntry)

    async def all(self) -> list[McpServerEntry]:
        entries = []
        for name in await self.documents.names():
            data = await self.documents.get(name)
            if data is not None:
                entries.append(msgspec.convert(data, McpServerEntry))
        return entries

    async def put(self, entry: McpServerEntry) -> None:
        await self.documents.put(entry.name, msgspec.to_builtins(entry))

    async def remove(self, name: str) -> bool:
        return await self.documents.delete(check_name(name, "server_name"))

    async def for_turn(self, names: tuple[str, ...], param: str) -> tuple[McpServer, ...]:
        """The servers a request named, each registered, enabled and connected.

        Raises:
            InvalidRequestError: a name is unknown, disabled or not connected.
        """
        servers = []
        for name in names:
            try:
                entry = await self.get(name)
            except NotFoundError:
                raise InvalidRequestError(
                    f"MCP server {name!r} is not registered (POST /v1/mcp/servers).", param=param
                ) from None
            if not entry.enabled or not entry.connected:
                raise InvalidRequestError(
                    f"MCP server {name!r} is not connected (POST /v1/mcp/connect first).",
                    param=param,
                )
            servers.append(McpServer(name=entry.name, config=entry.sdk_config()))
        return tuple(servers)
