"""AgentEvents -> chat completion objects and stream chunks (the wire facts clients rely on)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec
import pytest

from tests.fakes.backend import FakeBackend, Step, text_events
from wrapper.errors import UpstreamOverloadedError
from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    Message,
    MessageStart,
    SignatureDelta,
    StopReason,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolInputDelta,
    Turn,
    TurnEnd,
    Usage,
)
from wrapper.translate.openai_chat.response import (
    ChoiceCollector,
    ChunkTranslator,
    completion,
    completion_usage,
    finish_reason,
)
from wrapper.translate.openai_chat.turns import ChatPlan, chat_stream_producer, complete_chat

USAGE = Usage(
    input_tokens=11, output_tokens=7, cache_read_input_tokens=5, cache_creation_input_tokens=3
)

TOOL_EVENTS: list[AgentEvent] = [
    MessageStart(model="m"),
    BlockStart(index=0, type="text"),
    TextDelta(index=0, text="Let me check."),
    BlockStop(index=0),
    BlockStart(index=1, type="tool_use", tool_id="toolu_a", tool_name="get_weather"),
    ToolInputDelta(index=1, partial_json=""),
    ToolInputDelta(index=1, partial_json='{"city": '),
    ToolInputDelta(index=1, partial_json='"Paris"}'),
    BlockStop(index=1),
    BlockStart(index=2, type="tool_use", tool_id="toolu_b", tool_name="get_time"),
    ToolInputDelta(index=2, partial_json='{"tz": "CET"}'),
    BlockStop(index=2),
    BlockStart(index=3, type="tool_use", tool_id="toolu_c", tool_name="noop"),
    BlockStop(index=3),
    TurnEnd(stop_reason="tool_use", usage=USAGE, model="m"),
]


def _chunks(events: Sequence[AgentEvent], **kwargs: Any) -> list[dict[str, Any]]:
    translator = ChunkTranslator("chatcmpl-1", 1700000000, "m", **kwargs)
    out: list[dict[str, Any]] = []
    for event in events:
        out += [msgspec.to_builtins(chunk) for chunk in translator.translate(event)]
    return out


def _deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk["choices"][0]["delta"] for chunk in chunks]


@pytest.mark.parametrize(
    ("stop", "reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_finish_reason_mapping(stop: StopReason, reason: str) -> None:
    assert finish_reason(stop) == reason


def test_finish_reason_for_legacy_functions() -> None:
    assert finish_reason("tool_use", legacy_functions=True) == "function_call"
    assert finish_reason("end_turn", legacy_functions=True) == "stop"


def test_usage_counts_every_input_token() -> None:
    usage = msgspec.to_builtins(completion_usage(USAGE))
    assert usage == {
        "prompt_tokens": 19,
        "completion_tokens": 7,
        "total_tokens": 26,
        "prompt_tokens_details": {"cached_tokens": 5},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def test_text_stream_role_first_then_content_then_one_finish() -> None:
    chunks = _chunks(text_events("Hel", "lo", usage=USAGE))
    assert {chunk["id"] for chunk in chunks} == {"chatcmpl-1"}
    assert {chunk["created"] for chunk in chunks} == {1700000000}
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert _deltas(chunks) == [{"role": "assistant", "content": ""}, {"content": "Hel"},
                               {"content": "lo"}, {}]  # fmt: skip
    reasons = [chunk["choices"][0]["finish_reason"] for chunk in chunks]
    assert reasons == [None, None, None, "stop"]
    assert all(chunk["usage"] is None for chunk in chunks)
    assert all("role" not in delta for delta in _deltas(chunks)[1:])


def test_role_chunk_comes_first_even_without_message_start() -> None:
    chunks = _chunks([TextDelta(index=0, text="x"), TurnEnd("end_turn", Usage(), "m")])
    assert _deltas(chunks)[0] == {"role": "assistant", "content": ""}
    assert _deltas(chunks)[1] == {"content": "x"}


def test_an_empty_reply_still_has_a_role_chunk_and_a_finish() -> None:
    chunks = _chunks([TurnEnd("max_tokens", Usage(), "m")])
    assert _deltas(chunks) == [{"role": "assistant", "content": ""}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_tool_call_deltas_are_numbered_among_tool_calls() -> None:
    chunks = _chunks(TOOL_EVENTS)
    calls = [delta["tool_calls"] for delta in _deltas(chunks) if "tool_calls" in delta]
    assert all(len(call) == 1 for call in calls)
    fragments = [call[0] for call in calls]
    assert fragments == [
        {"index": 0, "id": "toolu_a", "type": "function",
         "function": {"name": "get_weather", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"city": '}},
        {"index": 0, "function": {"arguments": '"Paris"}'}},
        {"index": 1, "id": "toolu_b", "type": "function",
         "function": {"name": "get_time", "arguments": ""}},
        {"index": 1, "function": {"arguments": '{"tz": "CET"}'}},
        {"index": 2, "id": "toolu_c", "type": "function",
         "function": {"name": "noop", "arguments": ""}},
    ]  # fmt: skip
    reasons = [chunk["choices"][0]["finish_reason"] for chunk in chunks]
    assert reasons.count(None) == len(chunks) - 1
    assert reasons[-1] == "tool_calls"


def test_legacy_function_call_stream_carries_only_the_first_call() -> None:
    chunks = _chunks(TOOL_EVENTS, legacy_functions=True)
    calls = [delta["function_call"] for delta in _deltas(chunks) if "function_call" in delta]
    assert calls == [
        {"name": "get_weather", "arguments": ""},
        {"arguments": '{"city": '},
        {"arguments": '"Paris"}'},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "function_call"


def test_thinking_streams_as_reasoning_content_and_signatures_are_not_sent() -> None:
    chunks = _chunks(
        [
            MessageStart(model="m"),
            BlockStart(index=0, type="thinking"),
            ThinkingDelta(index=0, thinking="hmm"),
            SignatureDelta(index=0, signature="sig"),
            BlockStop(index=0),
            BlockStart(index=1, type="text"),
            TextDelta(index=1, text="ok"),
            BlockStop(index=1),
            TurnEnd("end_turn", Usage(), "m"),
        ]
    )
    assert _deltas(chunks) == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "hmm"},
        {"content": "ok"},
        {},
    ]


def test_choice_index_is_carried() -> None:
    translator = ChunkTranslator("c", 1, "m", index=3)
    chunks = translator.translate(TextDelta(index=0, text="x"))
    assert {chunk.choices[0].index for chunk in chunks} == {3}


def test_usage_chunk_has_no_choices() -> None:
    translator = ChunkTranslator("c", 1, "m")
    chunk = msgspec.to_builtins(translator.usage_chunk(USAGE))
    assert chunk["choices"] == []
    assert chunk["usage"]["prompt_tokens"] == 19


def _collect(events: Sequence[AgentEvent], **kwargs: Any) -> dict[str, Any]:
    collector = ChoiceCollector(0, **kwargs)
    for event in events:
        collector.add(event)
    body: dict[str, Any] = msgspec.to_builtins(completion("chatcmpl-1", 5, "m", [collector]))
    return body


def test_non_stream_text_completion() -> None:
    body = _collect(text_events("Hel", "lo", usage=USAGE))
    assert body["object"] == "chat.completion"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert body["usage"]["total_tokens"] == 26


def test_non_stream_tool_calls_have_json_string_arguments_and_null_content() -> None:
    events = [event for event in TOOL_EVENTS if not isinstance(event, TextDelta)]
    body = _collect(events)
    message = body["choices"][0]["message"]
    assert message["content"] is None
    assert [call["id"] for call in message["tool_calls"]] == ["toolu_a", "toolu_b", "toolu_c"]
    arguments = [call["function"]["arguments"] for call in message["tool_calls"]]
    assert [json.loads(value) for value in arguments] == [{"city": "Paris"}, {"tz": "CET"}, {}]
    assert all(call["type"] == "function" for call in message["tool_calls"])
    assert body["choices"][0]["finish_reason"] == "tool_calls"


def test_non_stream_legacy_function_call() -> None:
    message = _collect(TOOL_EVENTS, legacy_functions=True)["choices"][0]["message"]
    assert message["function_call"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert "tool_calls" not in message


# --------------------------------------------------------------------------------------
# The whole chat stream (producer) over a scripted backend


def _plan(**kwargs: Any) -> ChatPlan:
    turn = Turn(model="m", messages=(Message(role="user", content=(TextPart(text="hi"),)),))
    return ChatPlan(turn=turn, completion_id="chatcmpl-x", created=1, model="m", **kwargs)


async def _stream(backend: FakeBackend, plan: ChatPlan) -> list[bytes]:
    frames: list[bytes] = []

    async def emit(frame: bytes) -> None:
        frames.append(frame)

    await chat_stream_producer(backend, plan)(emit)
    return frames


def _payloads(frames: list[bytes]) -> list[Any]:
    out: list[Any] = []
    for frame in frames:
        assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
        data = frame[len(b"data: ") : -2]
        out.append(data.decode() if data == b"[DONE]" else json.loads(data))
    return out


@pytest.mark.anyio
async def test_stream_without_include_usage_has_no_usage_anywhere() -> None:
    backend = FakeBackend(text_events("a", "b", usage=USAGE))
    payloads = _payloads(await _stream(backend, _plan()))
    assert payloads[-1] == "[DONE]"
    assert all(chunk["usage"] is None for chunk in payloads[:-1])
    assert all(chunk["choices"] for chunk in payloads[:-1])
    assert backend.exits == ["normal"]


@pytest.mark.anyio
async def test_stream_with_include_usage_adds_one_final_usage_chunk() -> None:
    backend = FakeBackend(text_events("a", usage=USAGE))
    payloads = _payloads(await _stream(backend, _plan(include_usage=True)))
    assert payloads[-1] == "[DONE]"
    usage_chunk, others = payloads[-2], payloads[:-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["prompt_tokens"] == 19
    assert usage_chunk["usage"]["completion_tokens"] == 7
    assert all(chunk["usage"] is None for chunk in others)
    assert [c["choices"][0]["finish_reason"] for c in others].count("stop") == 1


@pytest.mark.anyio
async def test_stream_with_n_choices_ends_each_choice_once_and_sums_usage() -> None:
    backend = FakeBackend(text_events("x", usage=USAGE))
    payloads = _payloads(await _stream(backend, _plan(n=3, include_usage=True)))
    finishes = [
        chunk["choices"][0]["index"]
        for chunk in payloads[:-2]
        if chunk["choices"][0]["finish_reason"] is not None
    ]
    assert sorted(finishes) == [0, 1, 2]
    assert payloads[-2]["usage"]["completion_tokens"] == 21
    assert backend.exits == ["normal"] * 3


@pytest.mark.anyio
async def test_stream_stop_sequences_cut_the_text() -> None:
    backend = FakeBackend(text_events("one two ", "END three", usage=USAGE))
    plan = _plan()
    plan = msgspec.structs.replace(
        plan, turn=msgspec.structs.replace(plan.turn, stop_sequences=("END",))
    )
    payloads = _payloads(await _stream(backend, plan))
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in payloads[:-1])
    assert text == "one two "
    assert payloads[-2]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.anyio
async def test_stream_error_propagates_after_releasing_the_turn() -> None:
    script: list[Step] = [*text_events("a")[:3], UpstreamOverloadedError("busy")]
    backend = FakeBackend(script)
    with pytest.raises(UpstreamOverloadedError):
        await _stream(backend, _plan())
    assert backend.exits == ["error"]


@pytest.mark.anyio
async def test_complete_chat_collects_n_choices() -> None:
    backend = FakeBackend(text_events("a", "b", usage=USAGE))
    result = msgspec.to_builtins(await complete_chat(backend, _plan(n=2)))
    assert [choice["index"] for choice in result["choices"]] == [0, 1]
    assert {choice["message"]["content"] for choice in result["choices"]} == {"ab"}
    assert result["usage"]["prompt_tokens"] == 38
    assert result["id"] == "chatcmpl-x"
    assert backend.open_turns == 0


def test_system_fingerprint_is_never_null() -> None:
    # OpenAI's schema types system_fingerprint as a string: a null breaks strict validators.
    chunks = _chunks(TOOL_EVENTS)
    collector = ChoiceCollector(0)
    for event in TOOL_EVENTS:
        collector.add(event)
    body = msgspec.to_builtins(completion("chatcmpl-1", 1700000000, "m", [collector]))
    for payload in (*chunks, body):
        assert "system_fingerprint" not in payload
