"""AgentEvents -> Responses API objects and stream events, validated against OpenAI's schema.

The schema is the vendored slice in ``data/openai_responses_schema.json`` (made by
``data/slice_openai_responses.py`` from OpenAI's OpenAPI document).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest
from jsonschema import Draft202012Validator

from wrapper.errors import BackendTimeoutError, UpstreamRateLimitedError, WrapperError
from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    Message,
    MessageStart,
    RedactedThinkingPart,
    SignatureDelta,
    StopReason,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolInputDelta,
    ToolUsePart,
    TurnEnd,
    Usage,
)
from wrapper.schemas import openai_responses_output as rs
from wrapper.schemas.openai_responses import REQUEST_DECODER
from wrapper.translate.openai_responses.reasoning_seal import unseal
from wrapper.translate.openai_responses.request import responses_request_to_plan
from wrapper.translate.openai_responses.response import ResponseAssembler
from wrapper.translate.openai_responses.turns import frame

SCHEMA_FILE = Path(__file__).parents[2] / "data" / "openai_responses_schema.json"

EVENT_SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "error": "ResponseErrorEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.custom_tool_call_input.delta": "ResponseCustomToolCallInputDeltaEvent",
    "response.custom_tool_call_input.done": "ResponseCustomToolCallInputDoneEvent",
    "response.reasoning_summary_part.added": "ResponseReasoningSummaryPartAddedEvent",
    "response.reasoning_summary_part.done": "ResponseReasoningSummaryPartDoneEvent",
    "response.reasoning_summary_text.delta": "ResponseReasoningSummaryTextDeltaEvent",
    "response.reasoning_summary_text.done": "ResponseReasoningSummaryTextDoneEvent",
}


@cache
def validator(name: str) -> Draft202012Validator:
    document = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", **document})


def assert_valid(name: str, value: Any) -> None:
    errors = sorted(validator(name).iter_errors(value), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def wire(value: Any) -> Any:
    return json.loads(msgspec.json.encode(value))


def template(**body: Any) -> rs.Response:
    request = REQUEST_DECODER.decode(
        msgspec.json.encode({"model": "claude-x", "input": "hi", **body})
    )
    plan = responses_request_to_plan(
        request, response_id="resp_1", created_at=1000, default_model="d", headers={}
    )
    return plan.template


def end(stop: StopReason = "end_turn", **usage: int) -> TurnEnd:
    return TurnEnd(stop_reason=stop, usage=Usage(**usage), model="claude-x")


def text_block(index: int, *pieces: str) -> list[AgentEvent]:
    return [
        BlockStart(index=index, type="text"),
        *(TextDelta(index=index, text=p) for p in pieces),
        BlockStop(index=index),
    ]


def tool_block(index: int, call_id: str, name: str, *pieces: str) -> list[AgentEvent]:
    return [
        BlockStart(index=index, type="tool_use", tool_id=call_id, tool_name=name),
        *(ToolInputDelta(index=index, partial_json=p) for p in pieces),
        BlockStop(index=index),
    ]


def thinking_block(index: int, *pieces: str, signature: str = "sig-1") -> list[AgentEvent]:
    return [
        BlockStart(index=index, type="thinking"),
        *(ThinkingDelta(index=index, thinking=p) for p in pieces),
        SignatureDelta(index=index, signature=signature),
        BlockStop(index=index),
    ]


def run(
    events: list[AgentEvent], *, seal: bool = False, **body: Any
) -> tuple[list[dict[str, Any]], rs.Response, ResponseAssembler]:
    assembler = ResponseAssembler(template(**body), seal_reasoning=seal, clock=lambda: 2000.0)
    stream: list[rs.StreamEvent] = []
    for event in events:
        stream += assembler.feed(event)
    response = assembler.final_response()
    stream.append(assembler.terminal(response))
    return [wire(e) for e in stream], response, assembler


def types(stream: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in stream]


def check_stream(stream: list[dict[str, Any]]) -> None:
    """Schema-valid events, numbered 0, 1, 2... ."""
    assert [e["sequence_number"] for e in stream] == list(range(len(stream)))
    for event in stream:
        assert_valid(EVENT_SCHEMAS[event["type"]], event)


# --------------------------------------------------------------------------------------


def test_text_reply_event_sequence_and_response() -> None:
    stream, response, _ = run(
        [
            MessageStart(model="claude-x"),
            *text_block(0, "Hello", " world"),
            end(
                input_tokens=10,
                cache_read_input_tokens=4,
                cache_creation_input_tokens=2,
                output_tokens=5,
            ),
        ]
    )
    check_stream(stream)
    assert types(stream) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert stream[0]["response"]["status"] == "in_progress"
    assert stream[0]["response"]["output"] == []
    added = stream[2]["item"]
    assert added == {
        "type": "message",
        "id": added["id"],
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    assert added["id"].startswith("msg_")
    assert {e.get("item_id") for e in stream[3:8]} == {added["id"]}
    assert stream[6]["text"] == "Hello world"
    body = wire(response)
    assert_valid("Response", body)
    assert body["status"] == "completed"
    assert body["completed_at"] == 2000
    assert body["output"] == [stream[8]["item"]]
    assert body["output"][0]["content"] == [
        {"type": "output_text", "text": "Hello world", "annotations": [], "logprobs": []}
    ]
    assert body["usage"] == {
        "input_tokens": 16,
        "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 2},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 21,
    }
    assert stream[-1]["response"] == body


def test_function_calls_carry_claudes_tool_use_id() -> None:
    stream, response, assembler = run(
        [
            MessageStart(model="claude-x"),
            *text_block(0, "Checking."),
            *tool_block(1, "toolu_a", "get_weather", '{"city":', ' "Paris"}'),
            *tool_block(2, "toolu_b", "get_time"),
            end("tool_use", input_tokens=3, output_tokens=7),
        ],
        tools=[
            {"type": "function", "name": "get_weather"},
            {"type": "function", "name": "get_time"},
        ],
    )
    check_stream(stream)
    assert types(stream)[8:] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    body = wire(response)
    assert_valid("Response", body)
    calls = body["output"][1:]
    assert [(c["type"], c["call_id"], c["name"], c["arguments"], c["status"]) for c in calls] == [
        ("function_call", "toolu_a", "get_weather", '{"city": "Paris"}', "completed"),
        ("function_call", "toolu_b", "get_time", "{}", "completed"),
    ]
    assert all(c["id"].startswith("fc_") for c in calls)
    # The deltas of a call add up to its final arguments.
    for call in calls:
        deltas = [
            e["delta"]
            for e in stream
            if e["type"] == "response.function_call_arguments.delta" and e["item_id"] == call["id"]
        ]
        assert "".join(deltas) == call["arguments"]
    assert assembler.assistant_message() == Message(
        role="assistant",
        content=(
            TextPart(text="Checking."),
            ToolUsePart(id="toolu_a", name="get_weather", input={"city": "Paris"}),
            ToolUsePart(id="toolu_b", name="get_time", input={}),
        ),
    )


def test_thinking_becomes_a_reasoning_item_with_a_summary() -> None:
    stream, response, assembler = run(
        [
            MessageStart(model="claude-x"),
            *thinking_block(0, "Let me ", "think."),
            *text_block(1, "Answer."),
            end(output_tokens=9),
        ]
    )
    check_stream(stream)
    assert types(stream)[2:9] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    body = wire(response)
    assert_valid("Response", body)
    reasoning = body["output"][0]
    assert reasoning["type"] == "reasoning"
    assert reasoning["id"].startswith("rs_")
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Let me think."}]
    assert "encrypted_content" not in reasoning
    message = assembler.assistant_message()
    assert message is not None
    assert message.content[0] == ThinkingPart(thinking="Let me think.", signature="sig-1")


def test_encrypted_content_carries_the_signed_thinking_when_asked() -> None:
    _, response, _ = run(
        [
            MessageStart(model="claude-x"),
            *thinking_block(0, "deep", signature="sig-xyz"),
            BlockStart(index=1, type="redacted_thinking", data="REDACTED"),
            BlockStop(index=1),
            *text_block(2, "ok"),
            end(),
        ],
        seal=True,
    )
    body = wire(response)
    assert_valid("Response", body)
    first, second = body["output"][0], body["output"][1]
    assert unseal(first["encrypted_content"]) == ThinkingPart(thinking="deep", signature="sig-xyz")
    assert second["summary"] == []
    assert unseal(second["encrypted_content"]) == RedactedThinkingPart(data="REDACTED")


@pytest.mark.parametrize(
    ("stop", "status", "reason"),
    [
        ("end_turn", "completed", None),
        ("stop_sequence", "completed", None),
        ("pause_turn", "completed", None),
        ("tool_use", "completed", None),
        ("max_tokens", "incomplete", "max_output_tokens"),
        ("model_context_window_exceeded", "incomplete", "max_output_tokens"),
        ("refusal", "incomplete", "content_filter"),
    ],
)
def test_stop_reasons_set_the_status(stop: StopReason, status: str, reason: str | None) -> None:
    stream, response, _ = run(
        [MessageStart(model="claude-x"), *text_block(0, "a"), *text_block(1, "cut"), end(stop)],
        max_output_tokens=20,
    )
    check_stream(stream)
    body = wire(response)
    assert_valid("Response", body)
    assert body["status"] == status
    assert body["max_output_tokens"] == 20
    assert body["incomplete_details"] == ({"reason": reason} if reason else None)
    assert (body["completed_at"] is None) == (status == "incomplete")
    terminal = "response.incomplete" if status == "incomplete" else "response.completed"
    assert stream[-1]["type"] == terminal
    # Only the item the limit cut short is incomplete, in the stream and the object alike.
    item_status = "incomplete" if status == "incomplete" else "completed"
    assert [item["status"] for item in body["output"]] == ["completed", item_status]
    done = [e["item"]["status"] for e in stream if e["type"] == "response.output_item.done"]
    assert done == ["completed", item_status]


def test_a_reply_with_no_blocks_still_completes() -> None:
    stream, response, assembler = run([end()])
    check_stream(stream)
    assert types(stream) == ["response.created", "response.in_progress", "response.completed"]
    assert wire(response)["output"] == []
    assert assembler.assistant_message() is None


def test_unclosed_blocks_are_closed_at_the_end() -> None:
    stream, response, _ = run(
        [
            MessageStart(model="claude-x"),
            BlockStart(index=0, type="text"),
            TextDelta(index=0, text="x"),
            end("max_tokens"),
        ]
    )
    check_stream(stream)
    assert types(stream)[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.incomplete",
    ]
    assert wire(response)["output"][0]["status"] == "incomplete"


def test_echoed_request_fields_are_schema_valid() -> None:
    _, response, _ = run(
        [*text_block(0, '{"a": 1}'), end()],
        instructions="Be brief",
        tools=[{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}],
        tool_choice={
            "type": "allowed_tools",
            "mode": "auto",
            "tools": [{"type": "function", "name": "f"}],
        },
        text={"format": {"type": "json_schema", "name": "obj", "schema": {"type": "object"}}},
        reasoning={"effort": "high", "summary": "detailed"},
        metadata={"a": "b"},
        temperature=0.5,
        previous_response_id=None,
    )
    assert_valid("Response", wire(response))


@pytest.mark.parametrize(
    ("error", "code", "response_code"),
    [
        (BackendTimeoutError("too slow"), "timeout", "server_error"),
        (UpstreamRateLimitedError("slow down"), "upstream_rate_limited", "rate_limit_exceeded"),
    ],
)
def test_failure_after_output_is_an_error_then_response_failed(
    error: WrapperError, code: str, response_code: str
) -> None:
    assembler = ResponseAssembler(template())
    stream: list[rs.StreamEvent] = []
    for event in [
        MessageStart(model="claude-x"),
        *text_block(0, "partial"),
        BlockStart(index=1, type="text"),
        TextDelta(index=1, text="more"),
    ]:
        stream += assembler.feed(event)
    stream += assembler.failure(error)
    events = [wire(e) for e in stream]
    check_stream(events)
    assert types(events)[-2:] == ["error", "response.failed"]
    assert events[-2] == {
        "type": "error",
        "code": code,
        "message": error.message,
        "param": None,
        "sequence_number": events[-2]["sequence_number"],
    }
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": response_code, "message": error.message}
    assert [item["status"] for item in failed["output"]] == ["completed", "incomplete"]


def test_failure_before_any_event_still_opens_the_response() -> None:
    assembler = ResponseAssembler(template())
    events = [wire(e) for e in assembler.failure(BackendTimeoutError("late"))]
    check_stream(events)
    assert types(events) == ["response.created", "response.in_progress", "error", "response.failed"]


def test_frames_are_named_sse_events() -> None:
    stream, _, _ = run([*text_block(0, "line one\nline two"), end()])
    assembler = ResponseAssembler(template())
    raw = b"".join(frame(e) for e in assembler.feed(MessageStart(model="m")))
    assert raw.startswith(b"event: response.created\ndata: {")
    assert raw.count(b"\n\n") == 2
    assert b"[DONE]" not in raw
    assert any(e.get("delta") == "line one\nline two" for e in stream)
