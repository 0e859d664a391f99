"""``context_management`` edits, applied to the conversation before the turn is built.

Anthropic's API applies context edits on its side, before the model sees the
prompt. Claude Code cannot be asked to do that, but the edits only remove
content from the conversation the client sent, so this server applies them
itself:

* ``clear_thinking_20251015`` drops the thinking blocks of earlier assistant
  turns, keeping those of the last ``keep.value`` turns that have any
  (``keep: "all"`` keeps everything; the default keeps one turn);
* ``clear_tool_uses_20250919`` replaces the results of the oldest tool calls
  with a placeholder once the conversation holds more tool calls than its
  ``tool_uses`` trigger, keeping the last ``keep.value`` (default 3), never
  touching ``exclude_tools``, and emptying the calls' inputs too when
  ``clear_tool_inputs`` says so.

Each edit that cleared something is reported in the response's
``context_management.applied_edits`` with what it cleared (thinking turns, tool
uses); ``cleared_input_tokens`` is 0 because no tokens are counted here.

What cannot be applied faithfully is left alone and reported as ignored: an
``input_tokens`` trigger (this server does not count prompt tokens before the
turn, and never estimates them), ``clear_at_least`` in tokens, and edit types
this server does not know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from wrapper.errors import InvalidRequestError
from wrapper.events import (
    Message,
    Part,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolUsePart,
)
from wrapper.schemas import anthropic_output as ao

CLEAR_THINKING = "clear_thinking_20251015"
CLEAR_TOOL_USES = "clear_tool_uses_20250919"
CLEARED_RESULT = "[This tool result was cleared to save context.]"
_DEFAULT_KEEP_TOOL_USES = 3
_DEFAULT_KEEP_THINKING_TURNS = 1


class EditOutcome(msgspec.Struct, frozen=True):
    """The edited conversation, what the edits cleared, and the edit fields that had no
    effect."""

    messages: tuple[Message, ...]
    applied: tuple[ao.AppliedEdit, ...] = ()
    ignored: tuple[str, ...] = ()


def _count(value: Any, param: str, unit: str) -> int:
    if not isinstance(value, Mapping) or value.get("type") != unit:
        raise InvalidRequestError(f"{param} must be {{'type': '{unit}', 'value': n}}.", param=param)
    count = value.get("value")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise InvalidRequestError(f"{param}.value must be a whole number ≥ 0.", param=param)
    return count


def _is_thinking(part: Part) -> bool:
    return isinstance(part, ThinkingPart | RedactedThinkingPart)


def clear_thinking(
    messages: Sequence[Message], edit: Mapping[str, Any], param: str
) -> tuple[tuple[Message, ...], int]:
    """Drop thinking from all but the last kept assistant turns that have any.

    Returns the conversation and how many turns lost their thinking.

    Raises:
        InvalidRequestError: ``keep`` is malformed.
    """
    keep_field = edit.get("keep", None)
    if keep_field == "all":
        return tuple(messages), 0
    keep = (
        _DEFAULT_KEEP_THINKING_TURNS
        if keep_field is None
        else _count(keep_field, f"{param}.keep", "thinking_turns")
    )
    with_thinking = [
        index
        for index, message in enumerate(messages)
        if message.role == "assistant" and any(_is_thinking(part) for part in message.content)
    ]
    kept = set(with_thinking[len(with_thinking) - keep :]) if keep else set()
    edited: list[Message] = []
    cleared = 0
    for index, message in enumerate(messages):
        content = tuple(part for part in message.content if not _is_thinking(part))
        # An assistant turn of thinking alone would be left empty: keep it as it was.
        if index in with_thinking and index not in kept and content:
            edited.append(Message(role=message.role, content=content))
            cleared += 1
        else:
            edited.append(message)
    return tuple(edited), cleared


def _tool_names(edit: Mapping[str, Any], key: str, param: str) -> frozenset[str]:
    names = edit.get(key)
    if names is None:
        return frozenset()
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise InvalidRequestError(f"{param}.{key} must be a list of tool names.", param=param)
    return frozenset(names)


def clear_tool_uses(
    messages: Sequence[Message], edit: Mapping[str, Any], param: str
) -> tuple[tuple[Message, ...], int, list[str]]:
    """Clear the oldest tool results past a ``tool_uses`` trigger.

    Returns the conversation, how many tool uses were cleared and the fields of the
    edit that were ignored.

    Raises:
        InvalidRequestError: ``trigger``, ``keep`` or the tool lists are malformed.
    """
    ignored: list[str] = []
    trigger = edit.get("trigger")
    if trigger is None or (isinstance(trigger, Mapping) and trigger.get("type") == "input_tokens"):
        # Anthropic's default trigger is in input tokens, which are not counted here.
        return tuple(messages), 0, [f"{param}.trigger"]
    threshold = _count(trigger, f"{param}.trigger", "tool_uses")
    keep_field = edit.get("keep")
    keep = (
        _DEFAULT_KEEP_TOOL_USES
        if keep_field is None
        else _count(keep_field, f"{param}.keep", "tool_uses")
    )
    if edit.get("clear_at_least") is not None:
        ignored.append(f"{param}.clear_at_least")
    excluded = _tool_names(edit, "exclude_tools", param)
    inputs_field = edit.get("clear_tool_inputs", False)
    clear_inputs_of: frozenset[str] | bool = (
        inputs_field
        if isinstance(inputs_field, bool)
        else _tool_names(edit, "clear_tool_inputs", param)
    )
    calls = [
        part
        for message in messages
        if message.role == "assistant"
        for part in message.content
        if isinstance(part, ToolUsePart)
    ]
    if len(calls) <= threshold:
        return tuple(messages), 0, ignored
    clearable = [call for call in calls[: max(0, len(calls) - keep)] if call.name not in excluded]
    cleared = {call.id for call in clearable}
    inputs_cleared = {
        call.id
        for call in clearable
        if clear_inputs_of is True
        or (isinstance(clear_inputs_of, frozenset) and call.name in clear_inputs_of)
    }
    edited = tuple(_clear(message, cleared, inputs_cleared) for message in messages)
    return edited, len(cleared), ignored


def _clear(message: Message, results: set[str], inputs: set[str]) -> Message:
    return Message(
        role=message.role,
        content=tuple(_cleared(part, results, inputs) for part in message.content),
    )


def _cleared(part: Part, results: set[str], inputs: set[str]) -> Part:
    if isinstance(part, ToolResultPart) and part.tool_use_id in results:
        return ToolResultPart(
            tool_use_id=part.tool_use_id,
            content=(TextPart(text=CLEARED_RESULT),),
            is_error=part.is_error,
        )
    if isinstance(part, ToolUsePart) and part.id in inputs:
        return ToolUsePart(id=part.id, name=part.name, input={})
    return part


def apply_context_edits(
    messages: Sequence[Message], edits: Sequence[Mapping[str, Any]]
) -> EditOutcome:
    """Apply ``context_management.edits`` in order.

    Raises:
        InvalidRequestError: an edit is not an object with a ``type``, or is malformed.
    """
    edited = tuple(messages)
    applied: list[ao.AppliedEdit] = []
    ignored: list[str] = []
    for index, edit in enumerate(edits):
        param = f"context_management.edits[{index}]"
        kind = edit.get("type") if isinstance(edit, Mapping) else None
        if not isinstance(kind, str):
            raise InvalidRequestError("A context edit needs a type.", param=f"{param}.type")
        if kind == CLEAR_THINKING:
            edited, turns = clear_thinking(edited, edit, param)
            if turns:
                applied.append(ao.ClearThinkingApplied(cleared_thinking_turns=turns))
        elif kind == CLEAR_TOOL_USES:
            edited, uses, skipped = clear_tool_uses(edited, edit, param)
            ignored.extend(skipped)
            if uses:
                applied.append(ao.ClearToolUsesApplied(cleared_tool_uses=uses))
        else:
            ignored.append(param)
    return EditOutcome(messages=edited, applied=tuple(applied), ignored=tuple(ignored))
