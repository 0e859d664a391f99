"""What the two OpenAI dialects (Chat Completions and Responses) map the same way."""

from __future__ import annotations

import json
from typing import Any

from wrapper.errors import InvalidRequestError
from wrapper.events import Effort, ThinkingConfig, ToolChoice, ToolSpec
from wrapper.translate.headers import ClaudeHeaders

# OpenAI reasoning effort -> Claude effort ("none" and "minimal" also turn thinking off).
EFFORTS: dict[str, Effort] = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "xhigh",
    "max": "max",
}

# A function tool without ``parameters`` takes no arguments.
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
# ``json_object`` output is Claude Code's structured output with this schema.
JSON_OBJECT_SCHEMA: dict[str, Any] = {"type": "object"}


def reasoning_settings(
    requested: str | None, claude: ClaudeHeaders
) -> tuple[Effort | None, ThinkingConfig | None]:
    """Claude's effort and thinking for an OpenAI reasoning effort (X-Claude-* headers win)."""
    effort, thinking = claude.effort, claude.thinking
    if requested is None or effort is not None:
        return effort, thinking
    if requested != "none":
        effort = EFFORTS[requested]
    if requested in ("none", "minimal"):
        thinking = thinking or ThinkingConfig(mode="disabled")
    return effort, thinking


def call_arguments(raw: str, param: str) -> dict[str, Any]:
    """A function call's ``arguments`` string as the tool input object.

    Raises:
        InvalidRequestError: not a JSON object.
    """
    try:
        value = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidRequestError("Function call arguments must be a JSON object.", param=param)
    return value


def keep_allowed_tools(
    tools: tuple[ToolSpec, ...], names: set[str], mode: str | None, param: str
) -> tuple[tuple[ToolSpec, ...], ToolChoice]:
    """``tools`` restricted to an ``allowed_tools`` choice's ``names``; its ``mode``
    (``auto`` or ``required``) becomes the tool choice.

    Raises:
        InvalidRequestError: a name is not one of ``tools`` (``param`` names the list).
    """
    unknown = names - {tool.name for tool in tools}
    if unknown:
        raise InvalidRequestError(
            f"allowed_tools names unknown tools: {', '.join(sorted(unknown))}.", param=param
        )
    kept = tuple(tool for tool in tools if tool.name in names)
    return kept, ToolChoice(mode="required") if mode == "required" else ToolChoice()
