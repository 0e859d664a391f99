"""Wire Structs of the agent endpoints: ``/v1/tools*`` and ``/v1/mcp/*``.

Field names follow the existing wrapper's where it had the endpoint, so its
clients keep working; what it lacked (transports, stats that count real calls)
is added.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# --------------------------------------------------------------------------------------
# Tools


class ToolObject(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str
    category: str
    is_safe: bool
    requires_network: bool
    enabled_by_default: bool


class ToolList(msgspec.Struct, frozen=True, kw_only=True):
    tools: list[ToolObject]
    total: int
    enabled: bool
    """Whether the operator allows ``enable_tools`` (``ENABLE_SERVER_TOOLS``)."""


class ToolsConfigUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/tools/config``: the fields to set (``null`` clears one; absent keeps it)."""

    allowed_tools: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    disallowed_tools: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    permission_mode: str | msgspec.UnsetType | None = msgspec.UNSET
    max_turns: int | msgspec.UnsetType | None = msgspec.UNSET
    mcp_servers: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    session_id: str | None = None


class ToolsConfigObject(msgspec.Struct, frozen=True, kw_only=True):
    """A tools config, and what a tool-enabled request gets from it."""

    session_id: str | None
    allowed_tools: list[str] | None
    disallowed_tools: list[str] | None
    permission_mode: str | None
    max_turns: int | None
    mcp_servers: list[str] | None
    effective_tools: list[str]
    effective_permission_mode: str
    effective_max_turns: int
    updated_at: float | None


class ToolCountObject(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    calls: int
    errors: int
    last_used_at: float | None


class ToolStatsObject(msgspec.Struct, frozen=True, kw_only=True):
    total_tools: int
    global_allowed: list[str]
    global_disallowed: list[str]
    session_configs: int
    total_calls: int
    total_errors: int
    tools: list[ToolCountObject]
    since: float
    tool_categories: dict[str, int]


# --------------------------------------------------------------------------------------
# MCP


class McpRegistration(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/mcp/servers`` (the existing wrapper's fields, plus HTTP and SSE)."""

    name: str
    type: Literal["stdio", "http", "sse"] | None = None
    command: str | None = None
    args: list[str] = []
    env: dict[str, str] = {}
    url: str | None = None
    headers: dict[str, str] = {}
    description: str = ""
    enabled: bool = True


class McpServerName(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/mcp/connect`` and ``/v1/mcp/disconnect``."""

    server_name: str


class McpServerList(msgspec.Struct, frozen=True, kw_only=True):
    servers: list[dict[str, Any]]
    total: int


class McpConnected(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    server: dict[str, Any]
    tools: list[dict[str, str]]
    resources: list[Any] = []
    prompts: list[Any] = []


class McpMessage(msgspec.Struct, frozen=True, kw_only=True):
    message: str


class McpStats(msgspec.Struct, frozen=True, kw_only=True):
    mcp_available: bool
    registered_servers: int
    connected_servers: int
    total_tools: int
    servers: list[dict[str, Any]]


TOOLS_CONFIG_DECODER = msgspec.json.Decoder(ToolsConfigUpdate)
MCP_REGISTRATION_DECODER = msgspec.json.Decoder(McpRegistration)
MCP_NAME_DECODER = msgspec.json.Decoder(McpServerName)
