"""Really starting or reaching an MCP server, and listing its tools (``/v1/mcp/connect``).

The probe uses the ``mcp`` client over the server's own transport, completes the
protocol's initialisation, lists the tools and closes again: each CLI process
opens its own connection when a request uses the server. A failure is reported
with its reason, never raised as a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from wrapper.agent.mcp_servers import McpServerEntry, McpTool
from wrapper.logging import get_logger

log = get_logger(__name__)


class ProbeFailed(Exception):
    """The server could not be started, reached or initialised; ``str()`` says why."""


@asynccontextmanager
async def _http(entry: McpServerEntry) -> AsyncIterator[Any]:
    async with (
        httpx2.AsyncClient(headers=dict(entry.headers), timeout=10.0) as client,
        streamable_http_client(str(entry.url), http_client=client) as streams,
    ):
        yield streams


def _transport(entry: McpServerEntry, cwd: str | None) -> AbstractAsyncContextManager[Any]:
    if entry.type == "stdio":
        params = StdioServerParameters(
            command=str(entry.command), args=list(entry.args), env=dict(entry.env), cwd=cwd
        )
        return stdio_client(params)
    if entry.type == "sse":
        return sse_client(str(entry.url), headers=dict(entry.headers))
    return _http(entry)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_reason(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}".strip().rstrip(":")


async def list_tools(
    entry: McpServerEntry, *, timeout_s: float = 20.0, cwd: str | None = None
) -> tuple[McpTool, ...]:
    """Start or reach ``entry``, initialise a session and list its tools.

    Raises:
        ProbeFailed: it could not be started, reached or initialised in time.
    """
    try:
        with anyio.fail_after(timeout_s):
            async with _transport(entry, cwd) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    listed = await session.list_tools()
    except TimeoutError:
        raise ProbeFailed(f"no answer within {timeout_s:g} s") from None
    except Exception as exc:  # noqa: BLE001 - any failure is the server's, reported as such
        log.info("mcp.probe_failed", server=entry.name, error=type(exc).__name__)
        raise ProbeFailed(_reason(exc)) from None
    return tuple(
        McpTool(name=tool.name, description=(tool.description or "").strip()[:500])
        for tool in listed.tools
    )
