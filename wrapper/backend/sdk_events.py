"""SDK messages in, neutral :mod:`wrapper.events` out: a pure, synchronous state machine.

The CLI forwards Claude's raw stream events (``include_partial_messages``). The
reader renumbers content blocks by their position in what the client sees,
hides what the client must not see (the ``StructuredOutput`` tool, tools Claude
Code runs itself), and decides when the turn is over for the client:

* at the ``message_stop`` of a reply that calls a client tool (the call goes back
  to the client; Claude Code must not run it), or
* at the CLI's result message otherwise.

Errors are raised as :class:`~wrapper.errors.WrapperError` (classified in
:mod:`wrapper.backend.sdk_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from claude_agent_sdk import (
    AssistantMessage,
    RateLimitEvent,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    ToolResultBlock,
    UserMessage,
)

from wrapper.backend.joined_deltas import DeltaJoiner
from wrapper.backend.sdk_errors import error_for_result, structured_output_failed
from wrapper.backend.tool_steps import ToolSteps
from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    BlockType,
    MessageStart,
    SignatureDelta,
    StopReason,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    TurnEnd,
    Usage,
)

_STOP_REASONS: frozenset[str] = frozenset(
    {
        "end_turn",
        "max_tokens",
        "stop_sequence",
        "tool_use",
        "pause_turn",
        "refusal",
        "model_context_window_exceeded",
    }
)


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def usage_from(raw: dict[str, Any] | None) -> Usage:
    """A :class:`Usage` from the usage object of Claude's API or the CLI's result."""
    if not raw:
        return Usage()
    details = raw.get("output_tokens_details") or {}
    thinking = details.get("thinking_tokens") if isinstance(details, dict) else None
    return Usage(
        input_tokens=_int(raw.get("input_tokens")),
        output_tokens=_int(raw.get("output_tokens")),
        cache_read_input_tokens=_int(raw.get("cache_read_input_tokens")),
        cache_creation_input_tokens=_int(raw.get("cache_creation_input_tokens")),
        reasoning_tokens=thinking if isinstance(thinking, int) else None,
    )


def _add(a: Usage, b: Usage) -> Usage:
    reasoning = None
    if a.reasoning_tokens is not None or b.reasoning_tokens is not None:
        reasoning = (a.reasoning_tokens or 0) + (b.reasoning_tokens or 0)
    return Usage(
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        cache_read_input_tokens=a.cache_read_input_tokens + b.cache_read_input_tokens,
        cache_creation_input_tokens=a.cache_creation_input_tokens + b.cache_creation_input_tokens,
        reasoning_tokens=reasoning,
    )


class TurnReader:
    """Turns the SDK messages of one turn into :data:`AgentEvent` values.

    Feed every message to :meth:`feed`; it returns the events to emit and sets
    :attr:`done` once the turn is over for the client.
    """

    def __init__(
        self,
        *,
        model: str,
        client_tools: Collection[str] = (),
        structured_output: bool = False,
        parallel_tool_calls: bool = True,
        cost_before: float = 0.0,
        show_tool_steps: bool = False,
        join_deltas: bool = False,
    ) -> None:
        self.model = model
        self.cost_before = cost_before
        self.result_seen = False
        self.hidden_client_calls = 0
        self.client_tools = frozenset(client_tools)
        self.structured_output = structured_output
        self.parallel_tool_calls = parallel_tool_calls
        self.done = False
        self.started = False
        self.session_id: str | None = None
        self._next_index = 0
        self._blocks: dict[int, int | None] = {}
        self._open: dict[int, BlockType] = {}
        self._client_calls_in_message = 0
        self._client_calls_total = 0
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None
        self._message_usage = Usage()
        self._turn_usage = Usage()
        self._assistant_error: tuple[str, str] | None = None
        # When the usage window the CLI reported rejected resets (for Retry-After).
        self.rejected_resets_at: float | None = None
        # Claude Code's own tool runs, shown as reasoning (tool_steps.py).
        self._steps = ToolSteps() if show_tool_steps else None
        self._joiner = DeltaJoiner() if join_deltas else None

    # ---------------------------------------------------------------------------------

    def feed(self, message: Any) -> list[AgentEvent]:
        """Events for one SDK message.

        With ``join_deltas``, a block's deltas are held and handed on joined
        (:mod:`wrapper.backend.joined_deltas`): the events of a message may then
        come with a later one, and all of them by the time :attr:`done` is set.

        Raises:
            WrapperError: the turn failed (classified from the CLI's result).
        """
        if self.done:
            return []
        events = self._events_of(message)
        if self._joiner is None:
            return events
        return self._joiner.join(events, final=self.done)

    def _events_of(self, message: Any) -> list[AgentEvent]:
        if isinstance(message, StreamEvent):
            if message.parent_tool_use_id is not None:
                return []
            self.session_id = message.session_id or self.session_id
            return self._on_stream_event(message.event)
        if isinstance(message, AssistantMessage):
            if message.error is not None and message.parent_tool_use_id is None:
                text = " ".join(
                    getattr(block, "text", "")
                    for block in message.content
                    if hasattr(block, "text")
                )
                self._assistant_error = (message.error, text)
            return []
        if isinstance(message, ResultMessage):
            return self._on_result(message)
        if isinstance(message, RateLimitEvent):
            info = message.rate_limit_info
            if info.status == "rejected" and isinstance(info.resets_at, int | float):
                self.rejected_resets_at = float(info.resets_at)
            return []
        if isinstance(message, UserMessage) and message.parent_tool_use_id is None:
            return self._on_tool_results(message)
        if isinstance(message, SystemMessage) and message.subtype == "init":
            session = message.data.get("session_id")
            if isinstance(session, str):
                self.session_id = session
        return []

    # ---------------------------------------------------------------------------------

    def _on_stream_event(self, event: dict[str, Any]) -> list[AgentEvent]:
        kind = event.get("type")
        if kind == "message_start":
            return self._on_message_start(event.get("message") or {})
        if kind == "content_block_start":
            return self._on_block_start(event)
        if kind == "content_block_delta":
            return self._on_block_delta(event)
        if kind == "content_block_stop":
            return self._on_block_stop(event)
        if kind == "message_delta":
            delta = event.get("delta") or {}
            self._stop_reason = delta.get("stop_reason") or self._stop_reason
            self._stop_sequence = delta.get("stop_sequence") or self._stop_sequence
            usage = event.get("usage") or {}
            if isinstance(usage.get("output_tokens"), int):
                details = usage.get("output_tokens_details") or {}
                thinking = details.get("thinking_tokens") if isinstance(details, dict) else None
                self._message_usage = Usage(
                    input_tokens=self._message_usage.input_tokens,
                    output_tokens=usage["output_tokens"],
                    cache_read_input_tokens=self._message_usage.cache_read_input_tokens,
                    cache_creation_input_tokens=self._message_usage.cache_creation_input_tokens,
                    reasoning_tokens=thinking if isinstance(thinking, int) else None,
                )
            return []
        if kind == "message_stop":
            return self._on_message_stop()
        return []

    def _on_message_start(self, message: dict[str, Any]) -> list[AgentEvent]:
        self._blocks = {}
        self._open = {}
        self._client_calls_in_message = 0
        self._stop_reason = None
        self._stop_sequence = None
        self._message_usage = usage_from(message.get("usage"))
        if self.started:
            return []
        self.started = True
        return [MessageStart(model=self.model, usage=self._message_usage)]

    def _visible_tool(self, name: str) -> bool:
        if name not in self.client_tools:
            return False
        return self.parallel_tool_calls or self._client_calls_total == 0

    def _on_block_start(self, event: dict[str, Any]) -> list[AgentEvent]:
        upstream = event.get("index")
        block = event.get("content_block") or {}
        kind = block.get("type")
        if not isinstance(upstream, int):
            return []
        start: BlockStart | None = None
        if kind == "text" and not self.structured_output:
            start = BlockStart(index=self._next_index, type="text")
        elif kind == "thinking":
            start = BlockStart(index=self._next_index, type="thinking")
        elif kind == "redacted_thinking":
            start = BlockStart(
                index=self._next_index, type="redacted_thinking", data=block.get("data")
            )
        elif (
            kind == "tool_use"
            and str(block.get("name")) in self.client_tools
            and not (self._visible_tool(str(block.get("name"))))
        ):
            self.hidden_client_calls += 1
        elif kind == "tool_use" and self._visible_tool(str(block.get("name"))):
            self._client_calls_in_message += 1
            self._client_calls_total += 1
            start = BlockStart(
                index=self._next_index,
                type="tool_use",
                tool_id=block.get("id"),
                tool_name=block.get("name"),
            )
        if start is None:
            self._blocks[upstream] = None
            name = str(block.get("name"))
            if (
                kind == "tool_use"
                and self._steps is not None
                and name != "StructuredOutput"
                and name not in self.client_tools
            ):
                self._steps.start(upstream, block)
            return []
        self._blocks[upstream] = start.index
        self._open[start.index] = start.type
        self._next_index += 1
        events: list[AgentEvent] = [start]
        text = block.get("text") if kind == "text" else None
        if text:
            events.append(TextDelta(index=start.index, text=text))
        thinking = block.get("thinking") if kind == "thinking" else None
        if thinking:
            events.append(ThinkingDelta(index=start.index, thinking=thinking))
        return events

    def _on_block_delta(self, event: dict[str, Any]) -> list[AgentEvent]:
        index = self._blocks.get(event.get("index"))  # type: ignore[arg-type]
        delta = event.get("delta") or {}
        if self._steps is not None and self._steps.owns(event.get("index")):
            if delta.get("type") == "input_json_delta":
                self._steps.input_delta(event["index"], delta.get("partial_json") or "")
            return []
        if index is None:
            return []
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [TextDelta(index=index, text=delta["text"])]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [ThinkingDelta(index=index, thinking=delta["thinking"])]
        if kind == "signature_delta" and delta.get("signature"):
            return [SignatureDelta(index=index, signature=delta["signature"])]
        if kind == "input_json_delta":
            return [ToolInputDelta(index=index, partial_json=delta.get("partial_json") or "")]
        return []

    def _on_block_stop(self, event: dict[str, Any]) -> list[AgentEvent]:
        if self._steps is not None and self._steps.owns(event.get("index")):
            return self._steps.stop(event["index"], self._take_index())
        index = self._blocks.get(event.get("index"))  # type: ignore[arg-type]
        if index is None or index not in self._open:
            return []
        del self._open[index]
        return [BlockStop(index=index)]

    def _take_index(self) -> int:
        index = self._next_index
        self._next_index += 1
        return index

    def _on_tool_results(self, message: UserMessage) -> list[AgentEvent]:
        if self._steps is None or not isinstance(message.content, list):
            return []
        events: list[AgentEvent] = []
        for block in message.content:
            if isinstance(block, ToolResultBlock):
                shown = self._steps.result(block, self._next_index)
                if shown is not None:
                    self._next_index += 1
                    events += shown
        return events

    def _on_message_stop(self) -> list[AgentEvent]:
        self._turn_usage = _add(self._turn_usage, self._message_usage)
        self._message_usage = Usage()
        if self._stop_reason == "tool_use" and self._client_calls_in_message:
            self.done = True
            return [*self._close_open_blocks(), self._end("tool_use", self._turn_usage, None)]
        if self._stop_reason in ("max_tokens", "model_context_window_exceeded"):
            # The reply hit the output limit the client asked for. The CLI would go on
            # ("resume directly") with more upstream calls; the client's turn ends here.
            self.done = True
            stop: StopReason = self._stop_reason  # type: ignore[assignment]
            return [*self._close_open_blocks(), self._end(stop, self._turn_usage, None)]
        return []

    def _close_open_blocks(self) -> list[AgentEvent]:
        closing: list[AgentEvent] = [BlockStop(index=index) for index in sorted(self._open)]
        self._open.clear()
        return closing

    # ---------------------------------------------------------------------------------

    def _on_result(self, result: ResultMessage) -> list[AgentEvent]:
        self.done = True
        self.result_seen = True
        self.session_id = result.session_id or self.session_id
        if result.is_error and self._stop_reason == "max_tokens" and self.started:
            # The CLI reports a reply cut by the output limit as an error; for the
            # client it is a complete reply that stopped at its max_tokens.
            return [*self._close_open_blocks(), self._end("max_tokens", self._turn_usage, None)]
        if result.is_error and result.subtype == "error_max_turns" and self._steps is not None:
            # Claude Code's agent loop reached its step limit (X-Claude-Max-Turns): as
            # with the existing wrapper, a reply cut short (``length``), not a failure;
            # the tool steps so far are what the client gets.
            closing = self._close_open_blocks()
            if not self.started:
                self.started = True
                closing.append(MessageStart(model=self.model, usage=self._turn_usage))
            return [*closing, self._end("max_tokens", self._turn_usage, None)]
        if result.is_error:
            kind, text = self._assistant_error or (None, None)
            raise error_for_result(
                result.subtype,
                result.api_error_status,
                text or result.result,
                kind,
                resets_at=self.rejected_resets_at,
            )
        events: list[AgentEvent] = self._close_open_blocks()
        # Usage comes from Claude's own stream figures for the API calls of this turn
        # (the result's usage also counts calls reported by an earlier response when a
        # parked tool turn continues); a turn with no stream falls back to the result.
        usage = self._turn_usage if self.started else usage_from(result.usage)
        cost = None
        if result.total_cost_usd is not None:
            cost = max(0.0, result.total_cost_usd - self.cost_before)
        stop = result.stop_reason if result.stop_reason in _STOP_REASONS else "end_turn"
        if self.structured_output:
            stop = "end_turn"
            if result.structured_output is None:
                # The model answered without the structured output (in plain text, or cut
                # off): a reply that is not the JSON asked for is a failure, not a success.
                raise structured_output_failed()
            if not self.started:
                self.started = True
                events.append(MessageStart(model=self.model))
            text = json.dumps(result.structured_output, ensure_ascii=False)
            index = self._next_index
            self._next_index += 1
            events += [
                BlockStart(index=index, type="text"),
                TextDelta(index=index, text=text),
                BlockStop(index=index),
            ]
        elif not self.started:
            self.started = True
            events.append(MessageStart(model=self.model, usage=usage))
        events.append(self._end(stop, usage, cost))  # type: ignore[arg-type]
        return events

    def _end(self, stop: StopReason, usage: Usage, cost: float | None) -> TurnEnd:
        return TurnEnd(
            stop_reason=stop,
            stop_sequence=self._stop_sequence if stop == "stop_sequence" else None,
            usage=usage,
            model=self.model,
            cost_usd=cost,
            session_id=self.session_id,
        )
