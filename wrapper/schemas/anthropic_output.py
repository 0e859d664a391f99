"""Anthropic Messages API output wire types: the ``message`` object and the SSE events.

Shapes follow Anthropic's Messages API reference and the types of the official
``anthropic`` Python client. Every stream event is sent as ``event: <type>`` with
the same ``type`` in its data (:func:`event_name`).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# --------------------------------------------------------------------------------------
# Response: the message object


class Usage(msgspec.Struct, frozen=True):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


class TextContent(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    text: str


class ToolUseContent(msgspec.Struct, frozen=True, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: dict[str, Any]


class ThinkingContent(msgspec.Struct, frozen=True, tag_field="type", tag="thinking"):
    thinking: str
    signature: str


class RedactedThinkingContent(
    msgspec.Struct, frozen=True, tag_field="type", tag="redacted_thinking"
):
    data: str


ResponseBlock = TextContent | ToolUseContent | ThinkingContent | RedactedThinkingContent


class ClearToolUsesApplied(
    msgspec.Struct, frozen=True, tag_field="type", tag="clear_tool_uses_20250919"
):
    cleared_tool_uses: int
    cleared_input_tokens: int = 0


class ClearThinkingApplied(
    msgspec.Struct, frozen=True, tag_field="type", tag="clear_thinking_20251015"
):
    cleared_thinking_turns: int
    cleared_input_tokens: int = 0


AppliedEdit = ClearToolUsesApplied | ClearThinkingApplied


class ContextManagementOut(msgspec.Struct, frozen=True):
    """What the request's ``context_management`` edits cleared."""

    applied_edits: list[AppliedEdit]


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="message"):
    id: str
    role: Literal["assistant"] = "assistant"
    content: list[ResponseBlock]
    model: str
    stop_reason: str | None
    stop_sequence: str | None
    usage: Usage
    # Only when the request had ``context_management``.
    context_management: ContextManagementOut | msgspec.UnsetType = msgspec.UNSET


# --------------------------------------------------------------------------------------
# Stream events (each is sent as ``event: <type>`` with the same ``type`` in its data)


class MessageStartEvent(msgspec.Struct, frozen=True, tag_field="type", tag="message_start"):
    message: Message


class ContentBlockStartEvent(
    msgspec.Struct, frozen=True, tag_field="type", tag="content_block_start"
):
    index: int
    content_block: ResponseBlock


class TextDelta(msgspec.Struct, frozen=True, tag_field="type", tag="text_delta"):
    text: str


class InputJSONDelta(msgspec.Struct, frozen=True, tag_field="type", tag="input_json_delta"):
    partial_json: str


class ThinkingDelta(msgspec.Struct, frozen=True, tag_field="type", tag="thinking_delta"):
    thinking: str


class SignatureDelta(msgspec.Struct, frozen=True, tag_field="type", tag="signature_delta"):
    signature: str


BlockDelta = TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta


class ContentBlockDeltaEvent(
    msgspec.Struct, frozen=True, tag_field="type", tag="content_block_delta"
):
    index: int
    delta: BlockDelta


class ContentBlockStopEvent(
    msgspec.Struct, frozen=True, tag_field="type", tag="content_block_stop"
):
    index: int


class MessageDelta(msgspec.Struct, frozen=True):
    stop_reason: str | None
    stop_sequence: str | None


class MessageDeltaEvent(msgspec.Struct, frozen=True, tag_field="type", tag="message_delta"):
    delta: MessageDelta
    usage: Usage
    context_management: ContextManagementOut | msgspec.UnsetType = msgspec.UNSET


class MessageStopEvent(msgspec.Struct, frozen=True, tag_field="type", tag="message_stop"):
    pass


class PingEvent(msgspec.Struct, frozen=True, tag_field="type", tag="ping"):
    pass


StreamEvent = (
    MessageStartEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
    | PingEvent
)


def event_name(event: StreamEvent) -> str:
    """The SSE ``event:`` name of ``event`` (its ``type`` tag)."""
    return str(type(event).__struct_config__.tag)
