"""AgentEvents -> the Responses API ``response`` object and its named stream events.

One :class:`ResponseAssembler` serves both shapes, so a streamed response and a
non-stream one carry the same output. Each Claude content block becomes one
output item, in order: a text block a ``message`` item (one ``output_text``
part), a thinking block a ``reasoning`` item (its text as the summary), a client
tool call a ``function_call`` item (``call_id`` is Claude's tool_use id), or a
``custom_tool_call`` item when it calls a custom tool.

The stream follows OpenAI's event order: ``response.created`` and
``response.in_progress`` before anything else, ``output_item.added`` /
part and delta events / ``output_item.done`` per item, and one terminal event,
with a ``sequence_number`` that grows by one per event. An item's
``output_item.done`` is sent when the next item starts or the turn ends, so
the last item of a reply cut short by the token limit is marked incomplete.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal

import msgspec

from wrapper.errors import ErrorKind, UpstreamError, WrapperError
from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    Message,
    MessageStart,
    Part,
    SignatureDelta,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolInputDelta,
    ToolUsePart,
    TurnEnd,
    Usage,
)
from wrapper.schemas import openai_responses_output as rs
from wrapper.translate.openai_responses.custom_tools import INPUT_FIELD
from wrapper.translate.openai_responses.output_items import KIND, Item, tool_use_of
from wrapper.translate.openai_responses.reasoning_seal import seal

_INCOMPLETE: dict[str, Literal["max_output_tokens", "content_filter"]] = {
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "refusal": "content_filter",
}


def new_response_id() -> str:
    return f"resp_{uuid.uuid4().hex}"


def response_usage(usage: Usage) -> rs.ResponseUsage:
    """OpenAI usage from Claude's: input = uncached + cache read + cache write."""
    prompt = usage.prompt_tokens
    return rs.ResponseUsage(
        input_tokens=prompt,
        input_tokens_details=rs.InputTokensDetails(
            cached_tokens=usage.cache_read_input_tokens,
            cache_write_tokens=usage.cache_creation_input_tokens,
        ),
        output_tokens=usage.output_tokens,
        output_tokens_details=rs.OutputTokensDetails(reasoning_tokens=usage.reasoning_tokens or 0),
        total_tokens=prompt + usage.output_tokens,
    )


def failure_code(error: WrapperError) -> str:
    """The ``response.error.code`` for ``error`` (a value of OpenAI's ``ResponseErrorCode``)."""
    if error.kind is ErrorKind.RATE_LIMITED:
        return "rate_limit_exceeded"
    if error.kind is ErrorKind.INVALID_REQUEST:
        return "invalid_prompt"
    return "server_error"


class ResponseAssembler:
    """Feeds on one turn's AgentEvents; yields stream events and the final response."""

    def __init__(
        self,
        template: rs.Response,
        *,
        seal_reasoning: bool = False,
        namespaced: Mapping[str, tuple[str, str]] | None = None,
        custom: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.template = template
        self.seal_reasoning = seal_reasoning
        self.namespaced = namespaced or {}
        self.custom = custom
        self._clock = clock
        self.started = False
        self.end: TurnEnd | None = None
        self._sequence = 0
        self._items: list[Item] = []
        self._by_block: dict[int, Item] = {}
        self._pending: Item | None = None

    # -- output items -------------------------------------------------------------------

    def _n(self) -> int:
        number = self._sequence
        self._sequence += 1
        return number

    def _part(self, item: Item) -> rs.OutputText:
        return rs.OutputText(text=item.text)

    def _output(self, item: Item, status: rs.ItemStatus) -> rs.OutputItem:
        if item.kind == "message":
            content = [self._part(item)] if item.closed or status != "in_progress" else []
            return rs.OutputMessage(id=item.id, status=status, content=content)
        if item.kind == "function_call":
            namespace, name = self.namespaced.get(item.name, (msgspec.UNSET, item.name))
            return rs.FunctionCall(
                id=item.id,
                call_id=item.call_id,
                name=name,
                arguments=item.text,
                status=status,
                namespace=namespace,
            )
        if item.kind == "custom_tool_call":
            return rs.CustomToolCall(
                id=item.id,
                call_id=item.call_id,
                name=item.name,
                input=item.custom.sent,
                status=status,
            )
        summary = [rs.SummaryText(text=item.text)] if item.text else []
        block = item.block() if self.seal_reasoning and status != "in_progress" else None
        return rs.Reasoning(
            id=item.id,
            summary=summary,
            status=status,
            encrypted_content=seal(block) if block is not None else None,
        )

    def _snapshot(self, status: rs.ResponseStatus, **changes: Any) -> rs.Response:
        return msgspec.structs.replace(self.template, status=status, **changes)

    def _begin(self) -> list[rs.StreamEvent]:
        self.started = True
        snapshot = self._snapshot("in_progress")
        return [
            rs.ResponseCreated(response=snapshot, sequence_number=self._n()),
            rs.ResponseInProgress(response=snapshot, sequence_number=self._n()),
        ]

    def _flush(self, status: rs.ItemStatus = "completed") -> list[rs.StreamEvent]:
        item, self._pending = self._pending, None
        if item is None:
            return []
        done = rs.OutputItemDone(
            output_index=item.output_index,
            item=self._output(item, status),
            sequence_number=self._n(),
        )
        return [done]

    def _start(self, event: BlockStart) -> list[rs.StreamEvent]:
        events = self._flush()
        kind = KIND[event.type]
        if kind == "function_call" and event.tool_name in self.custom:
            kind = "custom_tool_call"
        item = Item(kind, len(self._items))
        item.call_id = event.tool_id or ""
        item.name = event.tool_name or ""
        if event.type == "redacted_thinking":
            item.redacted = event.data or ""
        self._items.append(item)
        self._by_block[event.index] = item
        added = self._output(item, "in_progress")
        events.append(
            rs.OutputItemAdded(
                output_index=item.output_index, item=added, sequence_number=self._n()
            )
        )
        if kind == "message":
            events.append(
                rs.ContentPartAdded(
                    item_id=item.id,
                    output_index=item.output_index,
                    content_index=0,
                    part=rs.OutputText(text=""),
                    sequence_number=self._n(),
                )
            )
        return events

    def _delta(self, item: Item, event: AgentEvent) -> list[rs.StreamEvent]:
        if isinstance(event, TextDelta) and item.kind == "message":
            item.chunks.append(event.text)
            return [
                rs.OutputTextDelta(
                    item_id=item.id,
                    output_index=item.output_index,
                    content_index=0,
                    delta=event.text,
                    sequence_number=self._n(),
                )
            ]
        if isinstance(event, ToolInputDelta) and item.kind == "function_call":
            if not event.partial_json:
                return []
            item.chunks.append(event.partial_json)
            return [
                rs.ArgumentsDelta(
                    item_id=item.id,
                    output_index=item.output_index,
                    delta=event.partial_json,
                    sequence_number=self._n(),
                )
            ]
        if isinstance(event, ToolInputDelta) and item.kind == "custom_tool_call":
            delta = item.custom.feed(event.partial_json)
            if not delta:
                return []
            return [
                rs.CustomInputDelta(
                    item_id=item.id,
                    output_index=item.output_index,
                    delta=delta,
                    sequence_number=self._n(),
                )
            ]
        if isinstance(event, ThinkingDelta) and item.kind == "reasoning":
            events: list[rs.StreamEvent] = []
            if not item.summary_open:
                item.summary_open = True
                events.append(
                    rs.SummaryPartAdded(
                        item_id=item.id,
                        output_index=item.output_index,
                        summary_index=0,
                        part=rs.SummaryText(text=""),
                        sequence_number=self._n(),
                    )
                )
            item.chunks.append(event.thinking)
            events.append(
                rs.SummaryTextDelta(
                    item_id=item.id,
                    output_index=item.output_index,
                    summary_index=0,
                    delta=event.thinking,
                    sequence_number=self._n(),
                )
            )
            return events
        if isinstance(event, SignatureDelta) and item.kind == "reasoning":
            item.signature.append(event.signature)
        return []

    def _stop(self, item: Item) -> list[rs.StreamEvent]:
        if item.closed:
            return []
        item.closed = True
        events: list[rs.StreamEvent] = []
        if item.kind == "message":
            events += [
                rs.OutputTextDone(
                    item_id=item.id,
                    output_index=item.output_index,
                    content_index=0,
                    text=item.text,
                    sequence_number=self._n(),
                ),
                rs.ContentPartDone(
                    item_id=item.id,
                    output_index=item.output_index,
                    content_index=0,
                    part=self._part(item),
                    sequence_number=self._n(),
                ),
            ]
        elif item.kind == "function_call":
            if not item.text.strip():
                item.chunks = ["{}"]
                events.append(
                    rs.ArgumentsDelta(
                        item_id=item.id,
                        output_index=item.output_index,
                        delta="{}",
                        sequence_number=self._n(),
                    )
                )
            events.append(
                rs.ArgumentsDone(
                    item_id=item.id,
                    output_index=item.output_index,
                    name=item.name,
                    arguments=item.text,
                    sequence_number=self._n(),
                )
            )
        elif item.kind == "custom_tool_call":
            rest, whole = item.custom.finish()
            if rest:
                events.append(
                    rs.CustomInputDelta(
                        item_id=item.id,
                        output_index=item.output_index,
                        delta=rest,
                        sequence_number=self._n(),
                    )
                )
            events.append(
                rs.CustomInputDone(
                    item_id=item.id,
                    output_index=item.output_index,
                    input=whole,
                    sequence_number=self._n(),
                )
            )
        elif item.summary_open:
            summary = rs.SummaryText(text=item.text)
            events += [
                rs.SummaryTextDone(
                    item_id=item.id,
                    output_index=item.output_index,
                    summary_index=0,
                    text=item.text,
                    sequence_number=self._n(),
                ),
                rs.SummaryPartDone(
                    item_id=item.id,
                    output_index=item.output_index,
                    summary_index=0,
                    part=summary,
                    sequence_number=self._n(),
                ),
            ]
        self._pending = item
        return events

    # -- public -------------------------------------------------------------------------

    def feed(self, event: AgentEvent) -> list[rs.StreamEvent]:
        """The stream events for ``event`` (the terminal event comes from :meth:`terminal`)."""
        if isinstance(event, MessageStart | TurnEnd) and event.model != self.template.model:
            # The model that answered (a fallback model, say) is the response's model.
            self.template = msgspec.structs.replace(self.template, model=event.model)
        events = [] if self.started else self._begin()
        if isinstance(event, BlockStart):
            events += self._start(event)
        elif isinstance(event, BlockStop):
            item = self._by_block.get(event.index)
            if item is not None:
                events += self._stop(item)
        elif isinstance(event, TurnEnd):
            self.end = event
            status = self.status()
            for item in self._items:
                if not item.closed:
                    events += self._flush()
                    events += self._stop(item)
            events += self._flush("incomplete" if status == "incomplete" else "completed")
        else:
            item = self._by_block.get(getattr(event, "index", -1))
            if item is not None:
                events += self._delta(item, event)
        return events

    def status(self) -> rs.ResponseStatus:
        if self.end is None:
            return "in_progress"
        return "incomplete" if self.end.stop_reason in _INCOMPLETE else "completed"

    def final_response(self) -> rs.Response:
        """The finished response object.

        Raises:
            UpstreamError: the turn ended without a result.
        """
        if self.end is None:
            raise UpstreamError("The turn ended without a result.", code="no_result")
        status = self.status()
        last = self._items[-1] if self._items else None
        output = [
            self._output(
                item, "incomplete" if status == "incomplete" and item is last else "completed"
            )
            for item in self._items
        ]
        reason = _INCOMPLETE.get(self.end.stop_reason)
        return self._snapshot(
            status,
            completed_at=int(self._clock()) if status == "completed" else None,
            incomplete_details=rs.IncompleteDetails(reason=reason) if reason else None,
            output=output,
            usage=response_usage(self.end.usage),
        )

    def terminal(self, response: rs.Response) -> rs.StreamEvent:
        """``response.completed`` or ``response.incomplete`` for the final ``response``."""
        if response.status == "incomplete":
            return rs.ResponseIncomplete(response=response, sequence_number=self._n())
        return rs.ResponseCompleted(response=response, sequence_number=self._n())

    def failure(self, error: WrapperError) -> list[rs.StreamEvent]:
        """The events that end a stream that failed: ``error``, then ``response.failed``."""
        events = [] if self.started else self._begin()
        output = [
            self._output(item, "completed" if item.closed else "incomplete") for item in self._items
        ]
        failed = self._snapshot(
            "failed",
            error=rs.ResponseError(code=failure_code(error), message=error.message),
            output=output,
        )
        events += [
            rs.ErrorEvent(
                code=error.code,
                message=error.message,
                param=error.param,
                sequence_number=self._n(),
            ),
            rs.ResponseFailed(response=failed, sequence_number=self._n()),
        ]
        return events

    def item_parts(self) -> dict[str, tuple[Part, ...]]:
        """Each output item's content as neutral assistant parts, by item id.

        This is what an ``item_reference`` to the item stands for: the reasoning
        item's thinking block keeps its signature even when the client was not sent it.
        """
        found: dict[str, tuple[Part, ...]] = {}
        for item in self._items:
            part: Part | None = None
            if item.kind == "message" and item.text:
                part = TextPart(text=item.text)
            elif item.kind == "reasoning":
                part = item.block()
            elif item.kind == "function_call":
                part = tool_use_of(item)
            elif item.kind == "custom_tool_call":
                part = ToolUsePart(
                    id=item.call_id, name=item.name, input={INPUT_FIELD: item.custom.sent}
                )
            if part is not None:
                found[item.id] = (part,)
        return found

    def assistant_message(self) -> Message | None:
        """This response's output as a neutral assistant message (for stored conversations)."""
        parts = [part for parts in self.item_parts().values() for part in parts]
        return Message(role="assistant", content=tuple(parts)) if parts else None
