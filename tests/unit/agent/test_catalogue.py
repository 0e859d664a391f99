"""The tool names and permission modes clients may send, checked once."""

from __future__ import annotations

import pytest

from wrapper.agent.catalogue import (
    DEFAULT_TOOLS,
    TOOL_NAMES,
    checked_tools,
    permission_mode,
    tool_info,
    tool_names,
)
from wrapper.errors import InvalidRequestError


def test_the_default_set_is_made_of_real_tools() -> None:
    assert set(DEFAULT_TOOLS) <= TOOL_NAMES
    assert "Glob" not in TOOL_NAMES  # this CLI has none: Bash runs find and grep
    info = tool_info("Bash")
    assert info is not None and info.writes


def test_names_are_trimmed_deduplicated_and_mcp_rules_pass() -> None:
    assert tool_names(" Read, Read ,,mcp__calc__add", "h") == ("Read", "mcp__calc__add")
    assert checked_tools(["mcp__docs"], "p") == ("mcp__docs",)
    assert tool_names(None, "h") is None


@pytest.mark.parametrize("bad", ["read", "Glob", "mcp__", "mcp__a b", "Bash(ls)"])
def test_an_unknown_name_is_a_400_naming_where_it_came_from(bad: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        checked_tools([bad], "allowed_tools")
    assert caught.value.param == "allowed_tools"


def test_permission_modes_match_case_insensitively() -> None:
    assert permission_mode("PLAN", "m") == "plan"
    assert permission_mode("  ", "m") is None
    with pytest.raises(InvalidRequestError):
        permission_mode("auto", "m")
