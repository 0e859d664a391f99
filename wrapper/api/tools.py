"""``/v1/tools``: Claude Code's tools, the tools config and the tool-run counts.

``POST /v1/tools/config`` changes what later requests of every client get: mark
it admin-only where API keys have roles.
"""

from __future__ import annotations

from collections import Counter

import msgspec

from wrapper.agent.catalogue import (
    CLAUDE_CODE_TOOLS,
    DEFAULT_PERMISSION_MODE,
    DEFAULT_TOOLS,
    TOOL_NAMES,
)
from wrapper.agent.tools_config import ToolsConfig, checked
from wrapper.api.context import AppContext
from wrapper.errors import InvalidRequestError, NotFoundError
from wrapper.http.request import Request, decode_json
from wrapper.http.responses import Response, json_response
from wrapper.schemas.agent import (
    TOOLS_CONFIG_DECODER,
    ToolCountObject,
    ToolList,
    ToolObject,
    ToolsConfigObject,
    ToolsConfigUpdate,
    ToolStatsObject,
)
from wrapper.sessions import validate_session_id

_FIELDS = ("allowed_tools", "disallowed_tools", "permission_mode", "max_turns", "mcp_servers")


def _listed(value: tuple[str, ...] | None) -> list[str] | None:
    return None if value is None else list(value)


class ToolsAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def list(self, request: Request) -> Response:
        tools = [
            ToolObject(
                name=tool.name,
                description=tool.description,
                category=tool.category,
                is_safe=not tool.writes and not tool.network,
                requires_network=tool.network,
                enabled_by_default=tool.name in DEFAULT_TOOLS,
            )
            for tool in CLAUDE_CODE_TOOLS
        ]
        enabled = self.ctx.settings.enable_server_tools
        return json_response(ToolList(tools=tools, total=len(tools), enabled=enabled))

    async def _view(self, session_id: str | None) -> ToolsConfigObject:
        configs = self.ctx.agent.mode.configs
        own = await configs.get(session_id)
        effective = await configs.effective(session_id)
        wanted = effective.allowed_tools if effective.allowed_tools is not None else DEFAULT_TOOLS
        denied = set(effective.disallowed_tools or ())
        return ToolsConfigObject(
            session_id=session_id,
            allowed_tools=_listed(own.allowed_tools),
            disallowed_tools=_listed(own.disallowed_tools),
            permission_mode=own.permission_mode,
            max_turns=own.max_turns,
            mcp_servers=_listed(own.mcp_servers),
            effective_tools=[name for name in wanted if name not in denied],
            effective_permission_mode=effective.permission_mode or DEFAULT_PERMISSION_MODE,
            effective_max_turns=effective.max_turns or self.ctx.agent.mode.default_max_turns,
            updated_at=own.updated_at,
        )

    async def get_config(self, request: Request) -> Response:
        session_id = request.query.get("session_id") or None
        if session_id is not None:
            validate_session_id(session_id)
        return json_response(await self._view(session_id))

    async def set_config(self, request: Request) -> Response:
        raw = await request.body(self.ctx.settings.max_request_size)
        update: ToolsConfigUpdate = decode_json(raw, TOOLS_CONFIG_DECODER)
        session_id = update.session_id or None
        if session_id is not None:
            validate_session_id(session_id)
        configs = self.ctx.agent.mode.configs
        current = await configs.get(session_id)
        changes = {
            name: tuple(value) if isinstance(value, list) else value
            for name in _FIELDS
            if (value := getattr(update, name)) is not msgspec.UNSET
        }
        config = checked(msgspec.structs.replace(current, **changes))
        await self._check_servers(config)
        await configs.put(config, session_id)
        return json_response(await self._view(session_id))

    async def _check_servers(self, config: ToolsConfig) -> None:
        for name in config.mcp_servers or ():
            try:
                await self.ctx.agent.mode.mcp.get(name)
            except NotFoundError:
                raise InvalidRequestError(
                    f"MCP server {name!r} is not registered (POST /v1/mcp/servers).",
                    param="mcp_servers",
                ) from None

    async def stats(self, request: Request) -> Response:
        runs = self.ctx.ops.tool_runs
        counts = [
            ToolCountObject(
                name=name, calls=count.calls, errors=count.errors, last_used_at=count.last_used_at
            )
            for name, count in sorted(runs.by_tool.items())
        ]
        categories = Counter(tool.category for tool in CLAUDE_CODE_TOOLS)
        configs = self.ctx.agent.mode.configs
        server_wide = await configs.get(None)
        allowed = server_wide.allowed_tools
        return json_response(
            ToolStatsObject(
                total_tools=len(TOOL_NAMES),
                global_allowed=list(DEFAULT_TOOLS if allowed is None else allowed),
                global_disallowed=list(server_wide.disallowed_tools or ()),
                session_configs=len(await configs.session_overrides()),
                total_calls=runs.total_calls,
                total_errors=runs.total_errors,
                tools=counts,
                since=runs.since,
                tool_categories=dict(sorted(categories.items())),
            )
        )
