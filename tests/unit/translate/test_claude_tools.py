"""enable_tools, the agent headers and MCP names, the same on all three APIs."""

from __future__ import annotations

import pytest

from wrapper.errors import InvalidRequestError
from wrapper.translate.claude_tools import agent_settings, mcp_names
from wrapper.translate.headers import ClaudeHeaders


def test_headers_are_parsed_and_checked_against_the_cli_tools() -> None:
    claude = ClaudeHeaders.parse(
        {
            "x-claude-allowed-tools": "Read, Write,mcp__calc",
            "x-claude-disallowed-tools": "Bash",
            "x-claude-permission-mode": "acceptedits",
        }
    )
    assert claude.allowed_tools == ("Read", "Write", "mcp__calc")
    assert claude.disallowed_tools == ("Bash",)
    assert claude.permission_mode == "acceptEdits"


@pytest.mark.parametrize(
    ("headers", "param"),
    [
        ({"x-claude-allowed-tools": "Read,Glob"}, "x-claude-allowed-tools"),
        ({"x-claude-disallowed-tools": "rm -rf"}, "x-claude-disallowed-tools"),
        ({"x-claude-permission-mode": "yolo"}, "x-claude-permission-mode"),
        ({"x-claude-max-turns": "0"}, "x-claude-max-turns"),
    ],
)
def test_a_bad_header_is_a_400_naming_it(headers: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ClaudeHeaders.parse(headers)
    assert caught.value.param == param
    assert param in caught.value.message


def test_enable_tools_needs_the_operator_gate() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        agent_settings(enable_tools=True, allow_server_tools=False, claude=ClaudeHeaders())
    assert caught.value.param == "enable_tools"
    assert (
        agent_settings(enable_tools=None, allow_server_tools=True, claude=ClaudeHeaders()) is None
    )


def test_mcp_servers_need_enable_tools_and_valid_names() -> None:
    with pytest.raises(InvalidRequestError):
        agent_settings(
            enable_tools=False, allow_server_tools=True, claude=ClaudeHeaders(), mcp_servers=("a",)
        )
    with pytest.raises(InvalidRequestError):
        mcp_names(["bad name"])
    with pytest.raises(InvalidRequestError):
        mcp_names("calc")
    assert mcp_names(["calc", "calc", "web-1"]) == ("calc", "web-1")


def test_hosted_web_tools_switch_on_just_those_tools_when_allowed() -> None:
    agent = agent_settings(
        enable_tools=None, allow_server_tools=True, claude=ClaudeHeaders(), hosted=["WebSearch"]
    )
    assert agent is not None
    assert agent.allowed_tools == ("WebSearch",)
    off = agent_settings(
        enable_tools=None, allow_server_tools=False, claude=ClaudeHeaders(), hosted=["WebSearch"]
    )
    assert off is None
    claude = ClaudeHeaders(allowed_tools=("Read",))
    both = agent_settings(
        enable_tools=True, allow_server_tools=True, claude=claude, hosted=["WebFetch"]
    )
    assert both is not None
    assert both.allowed_tools == ("Read", "WebFetch")
