"""The MCP registry: validation, the stdio gate, redacted views, what a turn gets."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest

from wrapper.agent.mcp_probe import ProbeFailed, list_tools
from wrapper.agent.mcp_servers import REDACTED, McpRegistry, entry_for
from wrapper.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from wrapper.schemas.agent import McpRegistration
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore

pytestmark = pytest.mark.anyio

CALC = Path(__file__).resolve().parents[2] / "fakes" / "mcp_calc_server.py"


def test_the_transport_follows_the_fields_and_secrets_are_redacted() -> None:
    stdio = entry_for(
        McpRegistration(name="calc", command="calc", env={"TOKEN": "s"}), stdio_allowed=True
    )
    assert stdio.type == "stdio"
    assert stdio.sdk_config() == {
        "type": "stdio",
        "command": "calc",
        "args": [],
        "env": {"TOKEN": "s"},
    }
    assert stdio.view()["env"] == {"TOKEN": REDACTED}
    web = entry_for(
        McpRegistration(name="web", url="https://x/mcp", headers={"Authorization": "k"}),
        stdio_allowed=False,
    )
    assert web.type == "http"
    assert web.view()["headers"] == {"Authorization": REDACTED}
    sse = entry_for(McpRegistration(name="s", type="sse", url="http://x/sse"), stdio_allowed=False)
    assert sse.sdk_config()["type"] == "sse"


@pytest.mark.parametrize(
    "body",
    [
        McpRegistration(name="bad name", url="http://x"),
        McpRegistration(name="x" * 65, url="http://x"),
        McpRegistration(name="web", type="http"),
        McpRegistration(name="web", url="ftp://x"),
        McpRegistration(name="cmd", type="stdio"),
        McpRegistration(name="nul", command="a", args=["b\0"]),
    ],
)
def test_bad_registrations_are_400s(body: McpRegistration) -> None:
    with pytest.raises(InvalidRequestError):
        entry_for(body, stdio_allowed=True)


def test_stdio_needs_the_operators_permission() -> None:
    with pytest.raises(PermissionDeniedError):
        entry_for(McpRegistration(name="calc", command="calc"), stdio_allowed=False)


async def test_a_turn_gets_only_registered_connected_servers() -> None:
    registry = McpRegistry(MemoryTranscriptStore())
    entry = entry_for(McpRegistration(name="calc", command="calc"), stdio_allowed=True)
    await registry.put(entry)
    with pytest.raises(InvalidRequestError, match="not connected"):
        await registry.for_turn(("calc",), "mcp_servers")
    await registry.put(msgspec.structs.replace(entry, connected=True))
    (server,) = await registry.for_turn(("calc",), "mcp_servers")
    assert server.name == "calc" and server.config["command"] == "calc"
    with pytest.raises(InvalidRequestError, match="not registered"):
        await registry.for_turn(("ghost",), "mcp_servers")
    assert [e.name for e in await registry.all()] == ["calc"]
    assert await registry.remove("calc")
    with pytest.raises(NotFoundError):
        await registry.get("calc")


async def test_the_probe_lists_a_real_servers_tools_or_says_why_not() -> None:
    calc = entry_for(
        McpRegistration(name="calc", command=sys.executable, args=[str(CALC)]), stdio_allowed=True
    )
    tools = await list_tools(calc)
    assert {tool.name for tool in tools} == {"add", "whoami"}
    missing = entry_for(McpRegistration(name="gone", command="/nonexistent/x"), stdio_allowed=True)
    with pytest.raises(ProbeFailed, match="FileNotFoundError"):
        await list_tools(missing)
