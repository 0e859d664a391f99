"""AgentEvents -> the Anthropic message object and SSE events, against golden JSON."""

from __future__ import annotations

import json
from typing import Any, cast

import anthropic
import anyio
import msgspec
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import ParsedMessage, RawMessageStreamEvent

from tests.fakes.backend import FakeBackend, Step, text_events
from wrapper.errors import UpstreamOverloadedError, WrapperError
from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    Message,
    MessageStart,
    SignatureDelta,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolInputDelta,
    Turn,
    TurnEnd,
    Usage,
)
from wrapper.http.pump import pump_stream
from wrapper.http.responses import JSONResponse, StreamResponse
from wrapper.translate.anthropic.response import (
    PING_FRAME,
    MessageCollector,
    StreamTranslator,
    sse_frame,
    tool_input,
)
from wrapper.translate.anthropic.turns import (
    MessagesPlan,
    complete_message,
    message_stream_producer,
)

USAGE = Usage(
    input_tokens=11, output_tokens=7, cache_read_input_tokens=5, cache_creation_input_tokens=3
)
START_USAGE = Usage(input_tokens=11, output_tokens=1, cache_read_input_tokens=5)
WIRE_USAGE = {
    "input_tokens": 11,
    "output_tokens": 7,
    "cache_creation_input_tokens": 3,
    "cache_read_input_tokens": 5,
}

RICH_EVENTS: list[AgentEvent] = [
    MessageStart(model="claude-x", usage=START_USAGE),
    BlockStart(index=0, type="thinking"),
    ThinkingDelta(index=0, thinking="Let me "),
    ThinkingDelta(index=0, thinking="think."),
    SignatureDelta(index=0, signature="sig/+=="),
    BlockStop(index=0),
    BlockStart(index=1, type="redacted_thinking", data="opaque=="),
    BlockStop(index=1),
    BlockStart(index=2, type="text"),
    TextDelta(index=2, text="Checking "),
    TextDelta(index=2, text="now."),
    BlockStop(index=2),
    BlockStart(index=3, type="tool_use", tool_id="toolu_a", tool_name="get_weather"),
    ToolInputDelta(index=3, partial_json=""),
    ToolInputDelta(index=3, partial_json='{"city": '),
    ToolInputDelta(index=3, partial_json='"Paris"}'),
    BlockStop(index=3),
    BlockStart(index=4, type="tool_use", tool_id="toolu_b", tool_name="noop"),
    BlockStop(index=4),
    TurnEnd(stop_reason="tool_use", usage=USAGE, model="claude-x"),
]

GOLDEN_MESSAGE: dict[str, Any] = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "content": [
        {"type": "thinking", "thinking": "Let me think.", "signature": "sig/+=="},
        {"type": "redacted_thinking", "data": "opaque=="},
        {"type": "text", "text": "Checking now."},
        {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_b", "name": "noop", "input": {}},
    ],
    "model": "claude-x",
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": WIRE_USAGE,
}


def delta(index: int, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": body})


def start(index: int, block: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def stop(index: int) -> tuple[str, dict[str, Any]]:
    return ("content_block_stop", {"type": "content_block_stop", "index": index})


GOLDEN_STREAM: list[tuple[str, dict[str, Any]]] = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [],
                "model": "claude-x",
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 11,
                    "output_tokens": 1,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 5,
                },
            },
        },
    ),
    start(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(0, {"type": "thinking_delta", "thinking": "Let me "}),
    delta(0, {"type": "thinking_delta", "thinking": "think."}),
    delta(0, {"type": "signature_delta", "signature": "sig/+=="}),
    stop(0),
    start(1, {"type": "redacted_thinking", "data": "opaque=="}),
    stop(1),
    start(2, {"type": "text", "text": ""}),
    delta(2, {"type": "text_delta", "text": "Checking "}),
    delta(2, {"type": "text_delta", "text": "now."}),
    stop(2),
    start(3, {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}}),
    delta(3, {"type": "input_json_delta", "partial_json": ""}),
    delta(3, {"type": "input_json_delta", "partial_json": '{"city": '}),
    delta(3, {"type": "input_json_delta", "partial_json": '"Paris"}'}),
    stop(3),
    start(4, {"type": "tool_use", "id": "toolu_b", "name": "noop", "input": {}}),
    stop(4),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": WIRE_USAGE,
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]


def collect(events: list[AgentEvent], *, omit_thinking: bool = False) -> dict[str, Any]:
    collector = MessageCollector("msg_1", "claude-x", omit_thinking=omit_thinking)
    for event in events:
        collector.add(event)
    result: dict[str, Any] = msgspec.to_builtins(collector.message())
    return result


def parse_frames(frames: list[bytes]) -> list[tuple[str, dict[str, Any]]]:
    parsed: list[tuple[str, dict[str, Any]]] = []
    for frame in frames:
        lines = frame.decode().split("\n")
        assert lines[-2:] == ["", ""], frame
        assert lines[0].startswith("event: ")
        name = lines[0][len("event: ") :]
        data = "\n".join(line[len("data: ") :] for line in lines[1:-2])
        payload = json.loads(data)
        assert payload["type"] == name
        parsed.append((name, payload))
    return parsed


def stream(events: list[AgentEvent], *, omit_thinking: bool = False) -> list[tuple[str, Any]]:
    translator = StreamTranslator("msg_1", "claude-x", omit_thinking=omit_thinking)
    frames = [sse_frame(wire) for event in events for wire in translator.translate(event)]
    return parse_frames(frames)


def rebuild(parsed: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The final message as the official anthropic client accumulates it from the stream."""
    snapshot: ParsedMessage[None] | None = None
    buffers: dict[int, bytes] = {}
    for _name, payload in parsed:
        # The client's accumulator parses a raw event dict itself, as its own stream does.
        event = cast("RawMessageStreamEvent", payload)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    assert snapshot is not None
    result: dict[str, Any] = snapshot.model_dump()
    return result


def as_client(message: dict[str, Any]) -> dict[str, Any]:
    """A non-stream message body as the official anthropic client parses it."""
    result: dict[str, Any] = anthropic.types.Message.model_validate(message).model_dump()
    return result


def test_message_golden() -> None:
    assert collect(RICH_EVENTS) == GOLDEN_MESSAGE


def test_stream_golden() -> None:
    assert stream(RICH_EVENTS) == GOLDEN_STREAM


def test_the_official_client_rebuilds_the_non_stream_message_from_the_stream() -> None:
    assert rebuild(stream(RICH_EVENTS)) == as_client(GOLDEN_MESSAGE)


def test_omitted_thinking_keeps_the_signature_and_drops_the_text() -> None:
    message = collect(RICH_EVENTS, omit_thinking=True)
    assert message["content"][0] == {"type": "thinking", "thinking": "", "signature": "sig/+=="}
    parsed = stream(RICH_EVENTS, omit_thinking=True)
    assert not [p for _, p in parsed if p.get("delta", {}).get("type") == "thinking_delta"]
    assert rebuild(parsed) == as_client(message)


def test_a_stream_without_message_start_still_opens_with_one() -> None:
    events: list[AgentEvent] = [
        BlockStart(index=0, type="text"),
        TextDelta(index=0, text="hi"),
        BlockStop(index=0),
        TurnEnd(stop_reason="end_turn", usage=USAGE, model="claude-x"),
    ]
    parsed = stream(events)
    assert [name for name, _ in parsed].count("message_start") == 1
    assert parsed[0][1]["message"]["usage"]["input_tokens"] == 0
    assert rebuild(parsed) == as_client(collect(events))


def test_empty_reply_and_stop_sequence_fields() -> None:
    events: list[AgentEvent] = [
        MessageStart(model="claude-x"),
        TurnEnd(stop_reason="stop_sequence", stop_sequence="END", usage=USAGE, model="claude-x"),
    ]
    message = collect(events)
    assert message["content"] == []
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "END")
    names = [name for name, _ in stream(events)]
    assert names == ["message_start", "message_delta", "message_stop"]


def test_ping_frame_is_a_named_ping_event() -> None:
    assert PING_FRAME == b'event: ping\ndata: {"type":"ping"}\n\n'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", {}), ("  ", {}), ('{"a": 1}', {"a": 1}), ("[1]", {}), ('{"a": ', {})],
)
def test_tool_input(raw: str, expected: dict[str, Any]) -> None:
    assert tool_input(raw) == expected


# --------------------------------------------------------------------------------------
# Running a turn (producer and non-stream), on both anyio backends


def plan(turn: Turn, *, omit_thinking: bool = False) -> MessagesPlan:
    return MessagesPlan(
        turn=turn, message_id="msg_1", model="claude-x", omit_thinking=omit_thinking
    )


def turn(stops: tuple[str, ...] = ()) -> Turn:
    return Turn(
        model="claude-x",
        messages=(Message(role="user", content=(TextPart(text="hi"),)),),
        stop_sequences=stops,
    )


async def run_stream(backend: FakeBackend, messages_plan: MessagesPlan) -> list[bytes]:
    frames: list[bytes] = []

    async def emit(frame: bytes) -> None:
        frames.append(frame)

    await message_stream_producer(backend, messages_plan)(emit)
    return frames


@pytest.mark.anyio
async def test_non_stream_and_stream_agree() -> None:
    backend = FakeBackend(list(RICH_EVENTS))
    message = msgspec.to_builtins(await complete_message(backend, plan(turn())))
    assert message == GOLDEN_MESSAGE
    parsed = parse_frames(await run_stream(backend, plan(turn())))
    assert parsed == GOLDEN_STREAM
    assert backend.exits == ["normal", "normal"]


@pytest.mark.anyio
async def test_stop_sequences_cut_the_text_in_both_modes() -> None:
    backend = FakeBackend(text_events("one two ", "END three", usage=USAGE))
    message = msgspec.to_builtins(await complete_message(backend, plan(turn(("END",)))))
    assert message["content"] == [{"type": "text", "text": "one two "}]
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "END")
    assert message["usage"] == WIRE_USAGE
    parsed = parse_frames(await run_stream(backend, plan(turn(("END",)))))
    final = parsed[-2][1]
    assert final["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}
    assert rebuild(parsed) == as_client(message)


@pytest.mark.anyio
async def test_stream_error_propagates_after_releasing_the_turn() -> None:
    script: list[Step] = [*text_events("partial")[:3], UpstreamOverloadedError("busy")]
    backend = FakeBackend(script)
    with pytest.raises(UpstreamOverloadedError):
        await run_stream(backend, plan(turn()))
    assert backend.exits == ["error"]


# --------------------------------------------------------------------------------------
# The pump sends the response's own ping frame while idle


@pytest.mark.anyio
async def test_pump_sends_the_anthropic_ping_while_idle() -> None:
    gate = anyio.Event()
    sent: list[dict[str, Any]] = []

    async def produce(emit: Any) -> None:
        await emit(b"event: first\ndata: {}\n\n")
        await gate.wait()
        await emit(b"event: last\ndata: {}\n\n")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        pings = [m for m in sent if m.get("body") == PING_FRAME]
        if len(pings) >= 2:
            gate.set()

    async def receive() -> dict[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError

    def render(error: WrapperError) -> JSONResponse:
        raise AssertionError(error)

    response = StreamResponse(produce, lambda error: b"", ping_frame=PING_FRAME)
    outcome = await pump_stream(
        response,
        send,
        receive,
        headers=[("content-type", "text/event-stream")],
        render_error=render,
        ping_interval=0.01,
        first_byte_deadline=5,
    )
    bodies = [m.get("body") for m in sent if m["type"] == "http.response.body"]
    assert bodies[0] == b"event: first\ndata: {}\n\n"
    assert bodies.count(PING_FRAME) >= 2
    assert b": ping\n\n" not in bodies
    assert bodies[-2:] == [b"event: last\ndata: {}\n\n", b""]
    assert outcome.finished
