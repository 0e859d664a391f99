"""Claude Code's own tools, as the bundled CLI reports them in its init message.

The names are the CLI's (an end-to-end test compares them with the ``tools`` of
a real process's init message, so a CLI upgrade that renames or drops a tool
fails there). The descriptions are ours, one line each, for ``GET /v1/tools``.
Names given by clients (headers, the tools config) are checked here, so a bad one
is a 400 naming where it came from.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from wrapper.errors import InvalidRequestError

PermissionMode = Literal["default", "acceptEdits", "bypassPermissions", "plan"]
PERMISSION_MODES: tuple[PermissionMode, ...] = (
    "default",
    "acceptEdits",
    "bypassPermissions",
    "plan",
)


class ToolInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str
    category: str
    writes: bool = False
    network: bool = False


CLAUDE_CODE_TOOLS: tuple[ToolInfo, ...] = (
    ToolInfo(
        name="Bash",
        description="Run a shell command in the workspace.",
        category="system",
        writes=True,
    ),
    ToolInfo(
        name="Read", description="Read a file (text, images, PDFs, notebooks).", category="file"
    ),
    ToolInfo(name="Write", description="Create or overwrite a file.", category="file", writes=True),
    ToolInfo(
        name="Edit", description="Replace exact text in a file.", category="file", writes=True
    ),
    ToolInfo(
        name="NotebookEdit",
        description="Edit a cell of a Jupyter notebook.",
        category="file",
        writes=True,
    ),
    ToolInfo(
        name="WebFetch",
        description="Fetch a URL and answer a question about its page.",
        category="web",
        network=True,
    ),
    ToolInfo(
        name="WebSearch",
        description="Search the web and return result snippets.",
        category="web",
        network=True,
    ),
    ToolInfo(
        name="Task", description="Start a sub-agent for a self-contained task.", category="agent"
    ),
    ToolInfo(name="TaskStop", description="Stop a running sub-agent task.", category="agent"),
    ToolInfo(
        name="ListAgents", description="List the sub-agents available to Task.", category="agent"
    ),
    ToolInfo(
        name="SendMessage", description="Send a message to a running sub-agent.", category="agent"
    ),
    ToolInfo(
        name="Workflow", description="Run a multi-step workflow of sub-agents.", category="agent"
    ),
    ToolInfo(
        name="ReportFindings",
        description="Report structured findings of a review.",
        category="output",
    ),
    ToolInfo(name="Skill", description="Invoke an installed Claude Code skill.", category="agent"),
    ToolInfo(name="Monitor", description="Watch a background command's output.", category="system"),
    ToolInfo(name="CronCreate", description="Schedule a recurring prompt.", category="scheduling"),
    ToolInfo(name="CronDelete", description="Delete a scheduled prompt.", category="scheduling"),
    ToolInfo(name="CronList", description="List scheduled prompts.", category="scheduling"),
    ToolInfo(
        name="ScheduleWakeup",
        description="Resume this session at a later time.",
        category="scheduling",
    ),
    ToolInfo(
        name="EnterWorktree",
        description="Switch into a new git worktree.",
        category="git",
        writes=True,
    ),
    ToolInfo(name="ExitWorktree", description="Leave the current git worktree.", category="git"),
)

TOOL_NAMES: frozenset[str] = frozenset(tool.name for tool in CLAUDE_CODE_TOOLS)

# What ``enable_tools`` offers when neither the request nor the tools config names a
# set: the tools of one request's work on files, the shell and the web. Sub-agents,
# schedules and worktrees outlive a request or multiply its cost: opt in by name.
DEFAULT_TOOLS: tuple[str, ...] = (
    "Bash",
    "Read",
    "Write",
    "Edit",
    "NotebookEdit",
    "WebFetch",
    "WebSearch",
)

# The permission mode of a tool-enabled request that names none: the tools offered
# run without asking (nobody is there to answer a prompt), ``plan`` refuses writes.
DEFAULT_PERMISSION_MODE: PermissionMode = "acceptEdits"


def tool_info(name: str) -> ToolInfo | None:
    for tool in CLAUDE_CODE_TOOLS:
        if tool.name == name:
            return tool
    return None


_MCP_TOOL = re.compile(r"mcp__[A-Za-z0-9_-]+(__[A-Za-z0-9_.-]+)?")


def tool_names(raw: str | None, param: str) -> tuple[str, ...] | None:
    """A comma-separated list of Claude Code tool names (or ``mcp__server[__tool]``).

    Raises:
        InvalidRequestError: a name is not one of the CLI's tools.
    """
    if raw is None:
        return None
    return checked_tools([name.strip() for name in raw.split(",")], param)


def checked_tools(names: list[str] | tuple[str, ...], param: str) -> tuple[str, ...]:
    """``names`` without blanks or repeats, each one of the CLI's tools or an MCP rule.

    Raises:
        InvalidRequestError: a name is not one of the CLI's tools.
    """
    kept = tuple(dict.fromkeys(name.strip() for name in names if name.strip()))
    unknown = [n for n in kept if n not in TOOL_NAMES and not _MCP_TOOL.fullmatch(n)]
    if unknown:
        raise InvalidRequestError(
            f"{param} names unknown tools: {', '.join(unknown)} "
            f"(Claude Code's tools: {', '.join(sorted(TOOL_NAMES))}; see GET /v1/tools).",
            param=param,
        )
    return kept


def permission_mode(raw: str | None, param: str) -> str | None:
    """A permission mode, or ``None`` when not given.

    Raises:
        InvalidRequestError: not one of Claude Code's modes.
    """
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    for mode in PERMISSION_MODES:
        if mode.lower() == value.lower():
            return mode
    raise InvalidRequestError(f"{param} must be one of {', '.join(PERMISSION_MODES)}.", param=param)
