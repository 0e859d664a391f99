"""A tool-enabled turn completed from the tools config and the MCP registry."""

from __future__ import annotations

import msgspec
import pytest

from wrapper.agent.mcp_servers import McpRegistry, entry_for
from wrapper.agent.prepare import AgentMode
from wrapper.agent.tools_config import ToolsConfig, ToolsConfigStore
from wrapper.errors import InvalidRequestError
from wrapper.events import AgentSettings, Message, TextPart, Turn
from wrapper.schemas.agent import McpRegistration
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore

pytestmark = pytest.mark.anyio


def mode() -> AgentMode:
    transcripts = MemoryTranscriptStore()
    return AgentMode(
        configs=ToolsConfigStore(transcripts), mcp=McpRegistry(transcripts), default_max_turns=7
    )


def turn(agent: AgentSettings | None = None, **fields: object) -> Turn:
    return Turn(
        model="m",
        messages=(Message("user", (TextPart("hi"),)),),
        server_tools=True,
        agent=agent or AgentSettings(),
        **fields,  # type: ignore[arg-type]
    )


async def test_without_server_tools_nothing_changes() -> None:
    plain = Turn(model="m", messages=(Message("user", (TextPart("hi"),)),))
    assert await mode().prepare(plain) is plain


async def test_the_request_wins_and_the_config_fills_in() -> None:
    agent_mode = mode()
    await agent_mode.configs.put(
        ToolsConfig(allowed_tools=("Read",), disallowed_tools=("Bash",), max_turns=3)
    )
    filled = await agent_mode.prepare(turn())
    assert filled.agent is not None
    assert filled.agent.allowed_tools == ("Read",)
    assert filled.agent.disallowed_tools == ("Bash",)
    assert filled.max_turns == 3
    asked = await agent_mode.prepare(
        turn(AgentSettings(allowed_tools=("Write",), disallowed_tools=("Edit",)), max_turns=9)
    )
    assert asked.agent is not None
    assert asked.agent.allowed_tools == ("Write",)
    assert asked.agent.disallowed_tools == ("Bash", "Edit")
    assert asked.max_turns == 9
    defaulted = await mode().prepare(turn())
    assert defaulted.max_turns == 7


async def test_mcp_servers_come_from_the_request_or_the_config() -> None:
    agent_mode = mode()
    entry = entry_for(McpRegistration(name="calc", command="calc"), stdio_allowed=True)
    await agent_mode.mcp.put(msgspec.structs.replace(entry, connected=True))
    await agent_mode.configs.put(ToolsConfig(mcp_servers=("calc",)))
    from_config = await agent_mode.prepare(turn())
    assert from_config.agent is not None
    assert [s.name for s in from_config.agent.mcp_servers] == ["calc"]
    none = await agent_mode.prepare(turn(AgentSettings(mcp_names=())))
    assert none.agent is not None and none.agent.mcp_servers == ()
    with pytest.raises(InvalidRequestError) as caught:
        await agent_mode.prepare(turn(AgentSettings(mcp_names=("ghost",))))
    assert caught.value.param == "mcp_servers"
