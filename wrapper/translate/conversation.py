"""Shaping any dialect's message list into a Turn's conversation.

Claude wants alternating user/assistant messages that start with a user message
and, for a reply, end with one. Consecutive messages of one role are merged
(a user message and the tool results before it become one user message, tool
results first). Tool names follow Claude's rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from wrapper.errors import InvalidRequestError
from wrapper.events import Message, Part, Role, TextPart, ToolResultPart, ToolSpec

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
RESERVED_TOOL_NAMES = frozenset({"StructuredOutput"})


def merge_roles(messages: Iterable[tuple[Role, Sequence[Part]]]) -> list[Message]:
    """Merge consecutive same-role messages; drop messages left with no content."""
    merged: list[tuple[Role, list[Part]]] = []
    for role, parts in messages:
        if not parts:
            continue
        if merged and merged[-1][0] == role:
            merged[-1][1].extend(parts)
        else:
            merged.append((role, list(parts)))
    return [Message(role=role, content=_results_first(role, parts)) for role, parts in merged]


def _results_first(role: Role, parts: list[Part]) -> tuple[Part, ...]:
    if role != "user":
        return tuple(parts)
    results: list[Part] = [part for part in parts if isinstance(part, ToolResultPart)]
    others: list[Part] = [part for part in parts if not isinstance(part, ToolResultPart)]
    return (*results, *others)


def check_conversation(messages: Sequence[Message], param: str = "messages") -> tuple[Message, ...]:
    """Validate the shape a reply needs.

    Raises:
        InvalidRequestError: no messages, or the last one is not from the user.
    """
    if not messages:
        raise InvalidRequestError("At least one user message is required.", param=param)
    if messages[-1].role != "user":
        raise InvalidRequestError(
            "The last message must come from the user (or be tool results): a trailing "
            "assistant message (prefill) cannot be continued through Claude Code.",
            param=param,
        )
    if messages[0].role != "user":
        placeholder = Message(role="user", content=(TextPart(text="(conversation start)"),))
        return (placeholder, *messages)
    return tuple(messages)


def check_tools(tools: Sequence[ToolSpec], param: str = "tools") -> tuple[ToolSpec, ...]:
    """Validate client tool names (Claude's rules; unique; not reserved).

    Raises:
        InvalidRequestError: a name is invalid, reserved or repeated.
    """
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        if not TOOL_NAME.match(tool.name):
            raise InvalidRequestError(
                f"Tool name {tool.name!r} must match ^[a-zA-Z0-9_-]{{1,128}}$.",
                param=f"{param}[{index}].name",
            )
        if tool.name in RESERVED_TOOL_NAMES:
            raise InvalidRequestError(
                f"Tool name {tool.name!r} is reserved by this server.",
                param=f"{param}[{index}].name",
            )
        if tool.name in seen:
            raise InvalidRequestError(
                f"Tool name {tool.name!r} is defined twice.", param=f"{param}[{index}].name"
            )
        seen.add(tool.name)
    return tuple(tools)
