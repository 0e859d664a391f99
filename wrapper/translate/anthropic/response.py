"""AgentEvents -> the Anthropic ``message`` object and its SSE event sequence.

The backend's events already follow a Claude message's block structure, so the
translation is close to one to one: block ``index`` is the position in the final
``content``; a stream is ``message_start``, then per block
``content_block_start`` / ``content_block_delta``... / ``content_block_stop``,
then ``message_delta`` (stop reason, stop sequence and the turn's cumulative
usage) and ``message_stop``. The non-stream message is built from the same events,
so the ``anthropic`` client's stream helpers rebuild exactly the message a
non-stream request returns.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec

from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    BlockType,
    MessageStart,
    SignatureDelta,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    TurnEnd,
    Usage,
)
from wrapper.http.sse import encode_event
from wrapper.schemas import anthropic_output as ao

_ENCODER = msgspec.json.Encoder()


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex[:24]}"


def wire_usage(usage: Usage) -> ao.Usage:
    """Claude's usage as Anthropic reports it (input excludes cached tokens)."""
    return ao.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
    )


def sse_frame(event: ao.StreamEvent) -> bytes:
    """``event`` as one named SSE frame (``event:`` equals the data's ``type``)."""
    return encode_event(_ENCODER.encode(event).decode(), event=ao.event_name(event))


PING_FRAME = sse_frame(ao.PingEvent())


def tool_input(raw: str) -> dict[str, Any]:
    """The parsed input of a tool call (``{}`` when the model sent none or no object)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


class _Block:
    __slots__ = ("data", "parts", "signature", "tool_id", "tool_name", "type")

    def __init__(self, start: BlockStart) -> None:
        self.type: BlockType = start.type
        self.tool_id = start.tool_id or ""
        self.tool_name = start.tool_name or ""
        self.data = start.data or ""
        self.parts: list[str] = []
        self.signature = ""

    def content(self) -> ao.ResponseBlock:
        joined = "".join(self.parts)
        if self.type == "text":
            return ao.TextContent(text=joined)
        if self.type == "tool_use":
            return ao.ToolUseContent(id=self.tool_id, name=self.tool_name, input=tool_input(joined))
        if self.type == "thinking":
            return ao.ThinkingContent(thinking=joined, signature=self.signature)
        return ao.RedactedThinkingContent(data=self.data)


class MessageCollector:
    """Collects one turn's events into the non-stream ``message``."""

    def __init__(
        self,
        message_id: str,
        model: str,
        *,
        omit_thinking: bool = False,
        context_management: ao.ContextManagementOut | None = None,
    ) -> None:
        self.message_id = message_id
        self.model = model
        self.omit_thinking = omit_thinking
        self.context_management = context_management
        self._blocks: dict[int, _Block] = {}
        self.end: TurnEnd | None = None

    def add(self, event: AgentEvent) -> None:
        if isinstance(event, MessageStart | TurnEnd):
            self.model = event.model  # the model that answered (a fallback model, say)
        if isinstance(event, BlockStart):
            self._blocks[event.index] = _Block(event)
            return
        if isinstance(event, TurnEnd):
            self.end = event
            return
        block = self._blocks.get(getattr(event, "index", -1))
        if block is None:
            return
        if isinstance(event, TextDelta):
            block.parts.append(event.text)
        elif isinstance(event, ThinkingDelta):
            if not self.omit_thinking:
                block.parts.append(event.thinking)
        elif isinstance(event, SignatureDelta):
            block.signature = event.signature
        elif isinstance(event, ToolInputDelta):
            block.parts.append(event.partial_json)

    def message(self) -> ao.Message:
        """The finished message (call after the turn's :class:`TurnEnd`)."""
        assert self.end is not None
        return ao.Message(
            id=self.message_id,
            content=[self._blocks[index].content() for index in sorted(self._blocks)],
            model=self.model,
            stop_reason=self.end.stop_reason,
            stop_sequence=self.end.stop_sequence,
            usage=wire_usage(self.end.usage),
            context_management=_reported(self.context_management),
        )


class StreamTranslator:
    """Turns one turn's events into Anthropic stream events."""

    def __init__(
        self,
        message_id: str,
        model: str,
        *,
        omit_thinking: bool = False,
        context_management: ao.ContextManagementOut | None = None,
    ) -> None:
        self.message_id = message_id
        self.model = model
        self.omit_thinking = omit_thinking
        self.context_management = context_management
        self._started = False

    def _start(self, usage: Usage) -> list[ao.StreamEvent]:
        if self._started:
            return []
        self._started = True
        message = ao.Message(
            id=self.message_id,
            content=[],
            model=self.model,
            stop_reason=None,
            stop_sequence=None,
            usage=wire_usage(usage),
        )
        return [ao.MessageStartEvent(message=message)]

    def translate(self, event: AgentEvent) -> list[ao.StreamEvent]:
        if isinstance(event, MessageStart):
            self.model = event.model  # the model that answered (a fallback model, say)
            return self._start(event.usage)
        events = self._start(Usage())
        if isinstance(event, BlockStart):
            events.append(ao.ContentBlockStartEvent(index=event.index, content_block=_empty(event)))
        elif isinstance(event, TextDelta):
            events.append(_delta(event.index, ao.TextDelta(text=event.text)))
        elif isinstance(event, ThinkingDelta):
            if not self.omit_thinking:
                events.append(_delta(event.index, ao.ThinkingDelta(thinking=event.thinking)))
        elif isinstance(event, SignatureDelta):
            events.append(_delta(event.index, ao.SignatureDelta(signature=event.signature)))
        elif isinstance(event, ToolInputDelta):
            events.append(_delta(event.index, ao.InputJSONDelta(partial_json=event.partial_json)))
        elif isinstance(event, BlockStop):
            events.append(ao.ContentBlockStopEvent(index=event.index))
        else:
            delta = ao.MessageDelta(
                stop_reason=event.stop_reason, stop_sequence=event.stop_sequence
            )
            events.append(
                ao.MessageDeltaEvent(
                    delta=delta,
                    usage=wire_usage(event.usage),
                    context_management=_reported(self.context_management),
                )
            )
            events.append(ao.MessageStopEvent())
        return events


def _reported(
    applied: ao.ContextManagementOut | None,
) -> ao.ContextManagementOut | msgspec.UnsetType:
    """``context_management`` as the response reports it: absent when not requested."""
    return applied if applied is not None else msgspec.UNSET


def _delta(index: int, delta: ao.BlockDelta) -> ao.ContentBlockDeltaEvent:
    return ao.ContentBlockDeltaEvent(index=index, delta=delta)


def _empty(start: BlockStart) -> ao.ResponseBlock:
    """The empty block a ``content_block_start`` announces."""
    if start.type == "text":
        return ao.TextContent(text="")
    if start.type == "tool_use":
        return ao.ToolUseContent(id=start.tool_id or "", name=start.tool_name or "", input={})
    if start.type == "thinking":
        return ao.ThinkingContent(thinking="", signature="")
    return ao.RedactedThinkingContent(data=start.data or "")
