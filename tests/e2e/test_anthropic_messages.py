"""Anthropic Messages through the real chain: anthropic client -> server -> SDK -> CLI -> fake."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any, cast

import anthropic
import httpx
import pytest
from anthropic.types import (
    ContentBlockParam,
    MessageParam,
    TextBlock,
    ThinkingBlock,
    ToolParam,
    ToolUseBlock,
)

from tests.e2e.harness import FAKE_KEY, ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Recorded, Reply, Text, Thinking, ToolUse

pytestmark = pytest.mark.e2e

MODEL = "claude-sonnet-4-6"
CLAUDE_CODE_TOOLS = {"Bash", "Write", "Edit", "Read", "Glob", "Grep", "WebSearch", "WebFetch"}
WEATHER_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def marker() -> str:
    return f"A{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(server: ServerProcess) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0) as client:
        yield client


def replayed(message: anthropic.types.Message) -> list[ContentBlockParam]:
    """The reply's blocks as ``model_dump()`` dicts (nulls included), as many clients send them."""
    # A dumped block is a valid block param on the wire; its dict type is only dict[str, Any].
    return cast("list[ContentBlockParam]", [block.model_dump() for block in message.content])


def user_texts(request: Recorded, index: int) -> list[str]:
    content = request.body["messages"][index]["content"]
    if isinstance(content, str):
        return [content]
    return [block.get("text", "") for block in content if block.get("type") == "text"]


def test_non_stream_message_with_real_usage_and_no_claude_code_tools(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply.text(
            "Hello from the fake",
            usage={
                "input_tokens": 21,
                "cache_read_input_tokens": 5,
                "cache_creation_input_tokens": 3,
            },
        ),
    )
    message = client.messages.create(
        model=MODEL, max_tokens=77, messages=[{"role": "user", "content": f"hi {tag}"}]
    )
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == MODEL
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from the fake"
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (21, 4)
    assert usage.cache_read_input_tokens == 5
    assert usage.cache_creation_input_tokens == 3
    request = upstream.recorded(tag)[-1]
    assert request.body["model"] == MODEL
    assert request.body["max_tokens"] == 77
    offered = {tool.get("name") for tool in request.body.get("tools") or []}
    assert not offered & CLAUDE_CODE_TOOLS


def test_stream_helpers_rebuild_exactly_the_non_stream_message(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("alpha beta gamma", usage={"cache_read_input_tokens": 4}))
    messages: list[MessageParam] = [{"role": "user", "content": tag}]
    whole = client.messages.create(model=MODEL, max_tokens=100, messages=messages)
    with client.messages.stream(model=MODEL, max_tokens=100, messages=messages) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["alpha ", "beta ", "gamma"]
    assert "".join(pieces) == "alpha beta gamma"
    assert final.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})


def test_raw_stream_is_the_exact_named_event_sequence(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("one two three"))
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream(
        "POST",
        f"{server.url}/v1/messages",
        json={
            "model": MODEL,
            "max_tokens": 50,
            "stream": True,
            "messages": [{"role": "user", "content": tag}],
        },
        headers={"anthropic-version": "2023-06-01", "anthropic-beta": "whatever-2099-01-01"},
        timeout=60,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["request-id"]
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
    assert all(name == payload["type"] for name, payload in events)
    names = [name for name, _ in events if name != "ping"]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert set(start["usage"]) >= {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }
    delta = next(payload for name, payload in events if name == "message_delta")
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] == 3


def test_system_prompt_as_string_and_as_blocks_reaches_the_upstream_system(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    first, second, third = marker(), marker(), marker()
    client.messages.create(
        model=MODEL,
        max_tokens=50,
        system=f"You are a pirate {first}.",
        messages=[{"role": "user", "content": "Say hi"}],
    )
    system = upstream.recorded(first)[-1].system_text()
    assert f"You are a pirate {first}." in system
    client.messages.create(
        model=MODEL,
        max_tokens=50,
        system=[
            {"type": "text", "text": f"Rule one {second}."},
            {"type": "text", "text": f"Rule two {third}.", "cache_control": {"type": "ephemeral"}},
        ],
        messages=[{"role": "user", "content": "Say hi"}],
    )
    request = upstream.recorded(second)[-1]
    system = request.system_text()
    assert f"Rule one {second}." in system
    assert f"Rule two {third}." in system
    assert second not in json.dumps(request.body["messages"])


def test_history_arrives_as_real_alternating_turns(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    message = client.messages.create(
        model=MODEL,
        max_tokens=50,
        messages=[
            {"role": "user", "content": f"My name is Alice {tag}"},
            {"role": "assistant", "content": [{"type": "text", "text": "Nice to meet you."}]},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "You said: What is my name?"
    request = upstream.recorded(tag)[-1]
    assert [m["role"] for m in request.body["messages"]] == ["user", "assistant", "user"]
    assert user_texts(request, 0)[0] == f"My name is Alice {tag}"
    assert request.body["messages"][1]["content"][0]["text"] == "Nice to meet you."
    assert "What is my name?" in user_texts(request, 2)


def test_client_tool_round_trip(client: anthropic.Anthropic, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(
        tag, Reply.tool("get_weather", {"city": "Paris"}), Reply.text("It is 21C in Paris.")
    )
    question: MessageParam = {"role": "user", "content": f"Weather in Paris? {tag}"}
    first = client.messages.create(
        model=MODEL, max_tokens=200, tools=[WEATHER_TOOL], messages=[question]
    )
    assert first.stop_reason == "tool_use"
    assert [block.type for block in first.content] == ["tool_use"]
    call = first.content[0]
    assert call.type == "tool_use"
    assert call.name == "get_weather"
    assert call.input == {"city": "Paris"}
    offered = upstream.recorded(tag)[-1].body["tools"]
    assert [tool["name"] for tool in offered] == ["get_weather"]

    follow_up = client.messages.create(
        model=MODEL,
        max_tokens=200,
        tools=[WEATHER_TOOL],
        messages=[
            question,
            {"role": "assistant", "content": replayed(first)},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": "21C and sunny"}
                ],
            },
        ],
    )
    assert follow_up.stop_reason == "end_turn"
    assert follow_up.content[0].type == "text"
    assert follow_up.content[0].text == "It is 21C in Paris."
    sent = upstream.recorded(tag)[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    tool_use = sent[1]["content"][0]
    assert (tool_use["type"], tool_use["id"], tool_use["input"]) == (
        "tool_use",
        call.id,
        {"city": "Paris"},
    )
    result = sent[2]["content"][0]
    assert result["type"] == "tool_result"
    assert result["tool_use_id"] == call.id
    result_texts = [b.get("text", "") for b in result["content"]]
    assert result_texts[0].strip() == "21C and sunny"


def test_streamed_tool_call_is_rebuilt_with_parsed_input(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.tool("get_weather", {"city": "Oslo", "unit": "C"}))
    with client.messages.stream(
        model=MODEL,
        max_tokens=200,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": f"Weather? {tag}"}],
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert "input_json" in kinds
    assert final.stop_reason == "tool_use"
    call = final.content[0]
    assert call.type == "tool_use"
    assert call.input == {"city": "Oslo", "unit": "C"}


def test_thinking_blocks_with_signature_in_both_modes_and_replayed_exactly(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(blocks=[Thinking("Two plus two is four.", signature="sig-e2e/+=="), Text("4")]),
    )
    messages: list[MessageParam] = [{"role": "user", "content": f"2+2? {tag}"}]
    whole = client.messages.create(model=MODEL, max_tokens=3000, messages=messages)
    assert [block.type for block in whole.content] == ["thinking", "text"]
    thinking = whole.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking == "Two plus two is four."
    assert thinking.signature == "sig-e2e/+=="
    with client.messages.stream(model=MODEL, max_tokens=3000, messages=messages) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert "thinking" in kinds and "signature" in kinds
    assert final.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})

    replay = marker()
    client.messages.create(
        model=MODEL,
        max_tokens=3000,
        messages=[
            {"role": "user", "content": f"2+2? {replay}"},
            {"role": "assistant", "content": replayed(whole)},
            {"role": "user", "content": "And 3+3?"},
        ],
    )
    sent = upstream.recorded(replay)[-1].body["messages"][1]["content"]
    assert sent[0] == {
        "type": "thinking",
        "thinking": "Two plus two is four.",
        "signature": "sig-e2e/+==",
    }


def test_stop_reason_max_tokens_from_the_model(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("cut off", stop_reason="max_tokens"))
    message = client.messages.create(
        model=MODEL, max_tokens=5, messages=[{"role": "user", "content": tag}]
    )
    assert message.stop_reason == "max_tokens"
    assert message.stop_sequence is None
    assert message.content[0].type == "text"
    assert message.content[0].text == "cut off"


def test_stop_sequences_cut_the_text_in_both_modes(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("alpha beta END gamma delta"))
    messages: list[MessageParam] = [{"role": "user", "content": tag}]
    whole = client.messages.create(
        model=MODEL, max_tokens=100, messages=messages, stop_sequences=["END", "never"]
    )
    assert whole.content[0].type == "text"
    assert whole.content[0].text == "alpha beta "
    assert (whole.stop_reason, whole.stop_sequence) == ("stop_sequence", "END")
    with client.messages.stream(
        model=MODEL, max_tokens=100, messages=messages, stop_sequences=["END", "never"]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "alpha beta "
    assert final.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})


def test_count_tokens_is_claudes_count_of_the_request(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    counted = client.messages.count_tokens(
        model=MODEL,
        system=f"Count me {tag}",
        messages=[{"role": "user", "content": "How many tokens is this?"}],
        tools=[WEATHER_TOOL],
    )
    request = upstream.recorded(tag, path="/v1/messages/count_tokens")[-1]
    assert request.body == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "How many tokens is this?"}],
        "system": f"Count me {tag}",
        "tools": [WEATHER_TOOL],
    }
    # The fake upstream's deterministic count of exactly what it received.
    assert counted.input_tokens == max(1, len(json.dumps(request.body)) // 4)
    assert request.headers["x-api-key"] == FAKE_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"


def test_server_tools_are_refused_with_a_clear_400(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=MODEL,
            max_tokens=100,
            tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
            messages=[{"role": "user", "content": "search"}],
        )
    body: Any = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "web_search_20250305" in body["error"]["message"]


def test_a_long_reply_in_many_pieces_is_the_same_whole_as_its_stream(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    # A reply that is not streamed has each block's deltas joined in the server: the
    # text, thinking and tool input the client gets are still exactly Claude's.
    tag = marker()
    words = [f"w{i} " for i in range(300)]
    arguments = {"city": "Paris", "notes": "x" * 200}
    raw = json.dumps(arguments)
    upstream.script(
        tag,
        Reply(
            blocks=[
                Thinking("step by step", signature="c2ln"),
                Text("".join(words), chunks=words),
                ToolUse("get_weather", arguments, id="toolu_long",
                        chunks=[raw[i : i + 7] for i in range(0, len(raw), 7)]),
            ],
            stop_reason="tool_use",
        ),
    )  # fmt: skip
    request: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 2048,
        "tools": [WEATHER_TOOL],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": tag}],
    }
    whole = client.messages.create(**request)
    with client.messages.stream(**request) as stream:
        streamed = stream.get_final_message()
    thinking, text, tool_use = whole.content
    assert isinstance(thinking, ThinkingBlock)
    assert isinstance(text, TextBlock)
    assert isinstance(tool_use, ToolUseBlock)
    assert (thinking.thinking, thinking.signature) == ("step by step", "c2ln")
    assert text.text == "".join(words)
    assert tool_use.input == arguments
    assert whole.stop_reason == "tool_use"
    assert [b.model_dump(exclude={"id"}) for b in whole.content] == [
        b.model_dump(exclude={"id"}) for b in streamed.content
    ]
