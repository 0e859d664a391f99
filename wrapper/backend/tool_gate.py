"""Client tools as in-process MCP tools whose calls wait for the client's results.

The model sees the client's tools under their own names (``CLAUDE_AGENT_SDK_MCP_NO_PREFIX``)
with their JSON schemas unchanged. When it calls one, the CLI invokes the tool
here; the call *parks* at the :class:`ToolGate` until the client sends the
result in its next request (the turn's reply ended with ``tool_calls`` in the
meantime). The gate then releases each call with the client's result, matched
by the ``tool_use`` id the CLI passes in the MCP request's ``_meta``, and the
CLI continues the very same turn: the model sees its own tool_use and a real
tool_result, with no new process and no replay.

A client tool named ``ToolSearch`` shares its name with the CLI's own tool search,
which the CLI drops from the tool list whenever tool search is off. For such a
tool set the process runs with tool search on and the built-in ``ToolSearch``
disallowed (see ``options.py``); every client tool is then marked to load at once
(``anthropic/alwaysLoad``), and one never-offered tool stays deferred, since the
CLI keeps the client's ``ToolSearch`` only while some tool is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import mcp.types as mcp
from claude_agent_sdk.types import McpSdkServerConfig
from mcp.server.lowlevel.server import Server

from wrapper.events import ImagePart, TextPart, ToolResultPart, ToolSpec

TOOL_USE_ID_META = "claudecode/toolUseId"
TOOL_SEARCH = "ToolSearch"
_ALWAYS_LOAD = {"anthropic/alwaysLoad": True}
# Deferred and never loaded: the model never sees it (the CLI sends only a placeholder).
_KEEP_SEARCH = mcp.Tool(
    name="wrapper_deferred_unused",
    description="Not offered.",
    input_schema={"type": "object", "properties": {}},
)
_UNANSWERED = "No result: tool calls are not available for this reply."


class ToolGate:
    """Where parked tool calls wait for the client's results."""

    def __init__(self, *, refuse: bool = False) -> None:
        self._results: dict[str, mcp.CallToolResult] = {}
        self._ready: dict[str, anyio.Event] = {}
        self._closed = refuse

    def _event(self, tool_use_id: str) -> anyio.Event:
        event = self._ready.get(tool_use_id)
        if event is None:
            event = self._ready[tool_use_id] = anyio.Event()
        return event

    async def wait(self, tool_use_id: str) -> mcp.CallToolResult:
        """The client's result for ``tool_use_id`` (waits until it is delivered)."""
        if not self._closed:
            await self._event(tool_use_id).wait()
        self._ready.pop(tool_use_id, None)
        return self._results.pop(tool_use_id, None) or _error_result(_UNANSWERED)

    def deliver(self, results: Sequence[ToolResultPart]) -> None:
        """Release the parked calls with the client's results."""
        for result in results:
            self._results[result.tool_use_id] = to_mcp_result(result)
            self._event(result.tool_use_id).set()

    def close(self) -> None:
        """Release every waiting call with an error (the process is going away)."""
        self._closed = True
        for event in self._ready.values():
            event.set()


def representable(result: ToolResultPart) -> bool:
    """Whether the result can be handed over as MCP content (text and inline images)."""
    return all(
        isinstance(item, TextPart) or (isinstance(item, ImagePart) and item.data is not None)
        for item in result.content
    )


def to_mcp_result(result: ToolResultPart) -> mcp.CallToolResult:
    content: list[
        mcp.TextContent
        | mcp.ImageContent
        | mcp.AudioContent
        | mcp.ResourceLink
        | mcp.EmbeddedResource
    ] = []
    for item in result.content:
        if isinstance(item, TextPart):
            content.append(mcp.TextContent(type="text", text=item.text))
        elif isinstance(item, ImagePart) and item.data is not None:
            content.append(
                mcp.ImageContent(
                    type="image", data=item.data, mime_type=item.media_type or "image/png"
                )
            )
    return mcp.CallToolResult(content=content, is_error=result.is_error)


def _error_result(text: str) -> mcp.CallToolResult:
    return mcp.CallToolResult(content=[mcp.TextContent(type="text", text=text)], is_error=True)


def _tool_use_id(meta: Any) -> str | None:
    if isinstance(meta, Mapping):
        value = meta.get(TOOL_USE_ID_META)
    else:
        value = getattr(meta, "model_extra", {}).get(TOOL_USE_ID_META) if meta else None
    return value if isinstance(value, str) else None


def client_tool_server(name: str, tools: Sequence[ToolSpec], gate: ToolGate) -> McpSdkServerConfig:
    """An in-process MCP server offering ``tools``; each call parks at ``gate``."""
    searchable = any(tool.name == TOOL_SEARCH for tool in tools)
    listed = [
        mcp.Tool(
            name=tool.name,
            description=tool.description,
            input_schema=tool.input_schema,
            _meta=_ALWAYS_LOAD if searchable else None,
        )
        for tool in tools
    ]
    if searchable:
        listed.append(_KEEP_SEARCH)

    async def on_list_tools(ctx: Any, params: Any) -> mcp.ListToolsResult:
        return mcp.ListToolsResult(tools=listed)

    async def on_call_tool(ctx: Any, params: mcp.CallToolRequestParams) -> mcp.CallToolResult:
        tool_use_id = _tool_use_id(params.meta)
        if tool_use_id is None:
            return _error_result("This tool is run by the client.")
        return await gate.wait(tool_use_id)

    server: Server[Any] = Server(
        name, version="1.0.0", on_list_tools=on_list_tools, on_call_tool=on_call_tool
    )
    return McpSdkServerConfig(type="sdk", name=name, instance=server)
