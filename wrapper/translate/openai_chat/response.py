"""AgentEvents -> OpenAI chat completion objects and stream chunks.

Streaming follows the wire facts OpenAI clients depend on: one ``id`` and
``created`` for every chunk, ``delta.role`` on the first chunk, tool calls as
deltas whose ``index`` is the call's position among this message's calls,
exactly one chunk with a ``finish_reason`` per choice, and usage only in its own
``choices: []`` chunk when the client asked for it.
"""

from __future__ import annotations

import json
import time
import uuid

from wrapper.events import (
    AgentEvent,
    BlockStart,
    MessageStart,
    StopReason,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    TurnEnd,
    Usage,
)
from wrapper.schemas import openai_chat as oa

_FINISH: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def finish_reason(stop: StopReason, *, legacy_functions: bool = False) -> str:
    reason = _FINISH.get(stop, "stop")
    if reason == "tool_calls" and legacy_functions:
        return "function_call"
    return reason


def completion_usage(usage: Usage) -> oa.CompletionUsage:
    """OpenAI usage from Claude's: prompt = input + cache read + cache creation."""
    prompt = usage.prompt_tokens
    return oa.CompletionUsage(
        prompt_tokens=prompt,
        completion_tokens=usage.output_tokens,
        total_tokens=prompt + usage.output_tokens,
        prompt_tokens_details=oa.PromptTokensDetails(cached_tokens=usage.cache_read_input_tokens),
        completion_tokens_details=oa.CompletionTokensDetails(
            reasoning_tokens=usage.reasoning_tokens or 0
        ),
    )


def sum_usage(usages: list[Usage]) -> Usage:
    return Usage(
        input_tokens=sum(u.input_tokens for u in usages),
        output_tokens=sum(u.output_tokens for u in usages),
        cache_read_input_tokens=sum(u.cache_read_input_tokens for u in usages),
        cache_creation_input_tokens=sum(u.cache_creation_input_tokens for u in usages),
        reasoning_tokens=(
            sum(u.reasoning_tokens or 0 for u in usages)
            if any(u.reasoning_tokens is not None for u in usages)
            else None
        ),
    )


class ChoiceCollector:
    """Collects one choice's events into a non-stream ``Choice``."""

    def __init__(self, index: int, *, legacy_functions: bool = False) -> None:
        self.index = index
        self.legacy_functions = legacy_functions
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[tuple[str, str, list[str]]] = []
        self._call_at: dict[int, int] = {}
        self.end: TurnEnd | None = None

    def add(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self.reasoning.append(event.thinking)
        elif isinstance(event, BlockStart) and event.type == "tool_use":
            self._call_at[event.index] = len(self.calls)
            self.calls.append((event.tool_id or "", event.tool_name or "", []))
        elif isinstance(event, ToolInputDelta) and event.index in self._call_at:
            self.calls[self._call_at[event.index]][2].append(event.partial_json)
        elif isinstance(event, TurnEnd):
            self.end = event

    def choice(self) -> oa.Choice:
        assert self.end is not None
        content = "".join(self.text) or None
        tool_calls: list[oa.ResponseToolCall] | None = None
        function_call: oa.ResponseFunctionCall | None = None
        calls = [(call_id, name, _arguments("".join(parts))) for call_id, name, parts in self.calls]
        if calls and self.legacy_functions:
            function_call = oa.ResponseFunctionCall(name=calls[0][1], arguments=calls[0][2])
        elif calls:
            tool_calls = [
                oa.ResponseToolCall(
                    id=call_id, function=oa.ResponseFunctionCall(name=name, arguments=arguments)
                )
                for call_id, name, arguments in calls
            ]
        return oa.Choice(
            index=self.index,
            message=oa.ResponseMessage(
                role="assistant",
                content=content,
                refusal=None,
                tool_calls=tool_calls,
                function_call=function_call,
                reasoning_content="".join(self.reasoning) or None,
            ),
            finish_reason=finish_reason(
                self.end.stop_reason, legacy_functions=self.legacy_functions
            ),
        )


def _arguments(raw: str) -> str:
    """The call's arguments as a JSON string (``{}`` when the model sent none)."""
    if not raw.strip():
        return "{}"
    try:
        return json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":"))
    except json.JSONDecodeError:
        return raw


def completion(
    completion_id: str, created: int, model: str, collectors: list[ChoiceCollector]
) -> oa.ChatCompletion:
    """The non-stream response for finished choices."""
    usages = [c.end.usage for c in collectors if c.end is not None]
    # The model that answered (a fallback model after overloads), else the requested one.
    answered = next((c.end.model for c in collectors if c.end is not None), model)
    return oa.ChatCompletion(
        id=completion_id,
        created=created,
        model=answered,
        choices=[c.choice() for c in collectors],
        usage=completion_usage(sum_usage(usages)),
    )


class ChunkTranslator:
    """Turns one choice's events into stream chunks."""

    def __init__(
        self,
        completion_id: str,
        created: int,
        model: str,
        index: int = 0,
        *,
        legacy_functions: bool = False,
    ) -> None:
        self.completion_id = completion_id
        self.created = created
        self.model = model
        self.index = index
        self.legacy_functions = legacy_functions
        self.usage: Usage | None = None
        self._role_sent = False
        self._calls: dict[int, int] = {}

    def _chunk(self, delta: oa.Delta, finish: str | None = None) -> oa.ChatCompletionChunk:
        return oa.ChatCompletionChunk(
            id=self.completion_id,
            created=self.created,
            model=self.model,
            choices=[oa.ChunkChoice(index=self.index, delta=delta, finish_reason=finish)],
        )

    def translate(self, event: AgentEvent) -> list[oa.ChatCompletionChunk]:
        chunks: list[oa.ChatCompletionChunk] = []
        if isinstance(event, MessageStart | TurnEnd):
            self.model = event.model  # the model that answered (a fallback model, say)
        if not self._role_sent and isinstance(event, MessageStart | TextDelta | TurnEnd):
            self._role_sent = True
            chunks.append(self._chunk(oa.Delta(role="assistant", content="")))
        if isinstance(event, TextDelta):
            chunks.append(self._chunk(oa.Delta(content=event.text)))
        elif isinstance(event, ThinkingDelta):
            chunks.append(self._chunk(oa.Delta(reasoning_content=event.thinking)))
        elif isinstance(event, BlockStart) and event.type == "tool_use":
            ordinal = len(self._calls)
            self._calls[event.index] = ordinal
            if self.legacy_functions:
                if ordinal == 0:
                    delta = oa.Delta(
                        function_call=oa.DeltaFunction(name=event.tool_name or "", arguments="")
                    )
                    chunks.append(self._chunk(delta))
            else:
                call = oa.DeltaToolCall(
                    index=ordinal,
                    id=event.tool_id,
                    type="function",
                    function=oa.DeltaFunction(name=event.tool_name or "", arguments=""),
                )
                chunks.append(self._chunk(oa.Delta(tool_calls=[call])))
        elif isinstance(event, ToolInputDelta) and event.index in self._calls:
            if event.partial_json:
                ordinal = self._calls[event.index]
                if self.legacy_functions:
                    if ordinal == 0:
                        delta = oa.Delta(
                            function_call=oa.DeltaFunction(arguments=event.partial_json)
                        )
                        chunks.append(self._chunk(delta))
                else:
                    call = oa.DeltaToolCall(
                        index=ordinal, function=oa.DeltaFunction(arguments=event.partial_json)
                    )
                    chunks.append(self._chunk(oa.Delta(tool_calls=[call])))
        elif isinstance(event, TurnEnd):
            self.usage = event.usage
            reason = finish_reason(event.stop_reason, legacy_functions=self.legacy_functions)
            chunks.append(self._chunk(oa.Delta(), reason))
        return chunks

    def usage_chunk(self, usage: Usage) -> oa.ChatCompletionChunk:
        """The extra ``choices: []`` chunk that carries usage (``include_usage``)."""
        return oa.ChatCompletionChunk(
            id=self.completion_id,
            created=self.created,
            model=self.model,
            choices=[],
            usage=completion_usage(usage),
        )


def now() -> int:
    return int(time.time())
