"""The Responses API through the whole real chain: openai client -> server -> SDK -> CLI -> fake."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any, cast

import openai
import pydantic
import pytest
from openai.types.responses import ResponseFunctionToolCallParam, ToolChoiceFunction

from tests.fakes.anthropic_upstream import FakeUpstream, Reply, Text, Thinking, ToolUse

pytestmark = pytest.mark.e2e

MODEL = "claude-sonnet-4-6"
WEATHER: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": WEATHER,
        "strict": True,
    },
    {
        "type": "function",
        "name": "get_time",
        "description": "Time in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
]


def marker() -> str:
    return f"R{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=120) as client:
        yield client


def texts(message: dict[str, Any]) -> list[str]:
    content = message["content"]
    if isinstance(content, str):
        return [content]
    return [b["text"] for b in content if b.get("type") == "text"]


def test_create_answers_with_real_usage_and_is_stored_until_deleted(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply.text(
            "Hello from the fake",
            usage={"input_tokens": 21, "cache_read_input_tokens": 5, "output_tokens": 4},
        ),
    )
    response = client.responses.create(model=MODEL, input=f"hi {tag}")
    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == MODEL
    assert response.output_text == "Hello from the fake"
    assert [item.type for item in response.output] == ["message"]
    assert response.usage is not None
    assert response.usage.input_tokens == 26
    assert response.usage.input_tokens_details.cached_tokens == 5
    assert response.usage.output_tokens == 4
    assert response.usage.total_tokens == 30
    assert upstream.recorded(tag)[-1].body["model"] == MODEL

    stored = client.responses.retrieve(response.id)
    assert stored.model_dump() == response.model_dump()
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_instructions_and_developer_messages_reach_the_upstream_system(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag, dev = marker(), marker()
    response = client.responses.create(
        model=MODEL,
        instructions=f"You are a pirate {tag}.",
        input=[
            {"role": "developer", "content": f"Answer briefly {dev}."},
            {"role": "user", "content": "Say hi"},
        ],
        store=False,
    )
    assert response.instructions == f"You are a pirate {tag}."
    request = upstream.recorded(tag)[-1]
    assert f"You are a pirate {tag}." in request.system_text()
    assert f"Answer briefly {dev}." in request.system_text()
    assert tag not in json.dumps(request.body["messages"])
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_stream_helper_rebuilds_the_final_response(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(
            blocks=[Thinking("Let me think."), Text("one two three")],
            usage={"output_tokens": 9, "output_tokens_details": {"thinking_tokens": 4}},
        ),
    )
    with client.responses.stream(model=MODEL, input=f"count {tag}") as stream:
        events = list(stream)
        final = stream.get_final_response()
    names = [e.type for e in events]
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(set(numbers))
    assert names[:2] == ["response.created", "response.in_progress"]
    assert names[-1] == "response.completed"
    assert names.count("response.output_text.delta") == 3
    assert "response.reasoning_summary_text.delta" in names
    message_start = names.index("response.content_part.added")
    assert names[message_start - 1] == "response.output_item.added"
    assert names[-4:-1] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert final.output_text == "one two three"
    assert [item.type for item in final.output] == ["reasoning", "message"]
    reasoning = final.output[0]
    assert reasoning.type == "reasoning"
    assert [s.text for s in reasoning.summary] == ["Let me think."]
    assert final.usage is not None
    assert final.usage.output_tokens_details.reasoning_tokens == 4
    assert client.responses.retrieve(final.id).output_text == "one two three"


def test_function_call_round_trip_stateless_and_stored(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(blocks=[ToolUse("get_weather", {"city": "Paris"}, id="toolu_p1")]),
        Reply.text("It is 21C in Paris."),
    )
    first = client.responses.create(model=MODEL, input=f"Weather? {tag}", tools=TOOLS)
    assert first.status == "completed"
    (call,) = first.output
    assert call.type == "function_call"
    assert (call.call_id, call.name, json.loads(call.arguments)) == (
        "toolu_p1",
        "get_weather",
        {"city": "Paris"},
    )
    tool_names = [t["name"] for t in upstream.recorded(tag)[-1].body["tools"]]
    assert "get_weather" in tool_names

    # Stateless: the client sends the history back, the function_call item included.
    stateless = client.responses.create(
        model=MODEL,
        tools=TOOLS,
        store=False,
        input=[
            {"role": "user", "content": f"Weather? {tag}"},
            # The output item dumped back, as clients replay it: a valid input item on the wire.
            cast("ResponseFunctionToolCallParam", call.model_dump(exclude_none=True)),
            {"type": "function_call_output", "call_id": call.call_id, "output": "21C"},
        ],
    )
    assert stateless.output_text == "It is 21C in Paris."
    # Stored: previous_response_id brings the call back server-side.
    chained = client.responses.create(
        model=MODEL,
        tools=TOOLS,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "21C"}],
    )
    assert chained.output_text == "It is 21C in Paris."
    for request in upstream.recorded(tag)[-2:]:
        messages = request.body["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant", "user"]
        (use,) = [b for b in messages[1]["content"] if b["type"] == "tool_use"]
        assert (use["id"], use["name"], use["input"]) == (
            "toolu_p1",
            "get_weather",
            {"city": "Paris"},
        )
        (result,) = [b for b in messages[2]["content"] if b["type"] == "tool_result"]
        assert result["tool_use_id"] == "toolu_p1"
        assert "21C" in json.dumps(result["content"])


def test_streamed_function_call_arguments_rebuild_exactly(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(
            blocks=[
                Text("Checking."),
                ToolUse("get_weather", {"city": "Rome"}, chunks=['{"ci', 'ty": "Ro', 'me"}']),
            ]
        ),
    )
    with client.responses.stream(model=MODEL, input=f"Rome? {tag}", tools=TOOLS) as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert deltas == ['{"ci', 'ty": "Ro', 'me"}']
    (done,) = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert done.arguments == '{"city": "Rome"}'
    assert [item.type for item in final.output] == ["message", "function_call"]
    call = final.output[1]
    assert call.type == "function_call"
    assert json.loads(call.arguments) == {"city": "Rome"}
    assert call.parsed_arguments is not None  # strict tool: the helper parsed the arguments


def test_tool_choice_and_parallel_tool_calls_reach_the_model(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    none_tag, named_tag = marker(), marker()
    client.responses.create(model=MODEL, input=none_tag, tools=TOOLS, tool_choice="none")
    assert not upstream.recorded(none_tag)[-1].body.get("tools")

    upstream.script(
        named_tag,
        Reply(
            blocks=[ToolUse("get_weather", {"city": "A"}), ToolUse("get_weather", {"city": "B"})]
        ),
    )
    response = client.responses.create(
        model=MODEL,
        input=named_tag,
        tools=TOOLS,
        tool_choice={"type": "function", "name": "get_weather"},
        parallel_tool_calls=False,
    )
    assert [t["name"] for t in upstream.recorded(named_tag)[-1].body["tools"]] == ["get_weather"]
    calls = [item for item in response.output if item.type == "function_call"]
    assert [json.loads(c.arguments) for c in calls] == [{"city": "A"}]
    assert isinstance(response.tool_choice, ToolChoiceFunction)
    assert response.tool_choice.type == "function"
    assert response.parallel_tool_calls is False


def test_previous_response_id_replays_earlier_turns_natively(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("Nice to meet you, Alice."), Reply.text("You are Alice."))
    first = client.responses.create(model=MODEL, input=f"My name is Alice {tag}")
    second = client.responses.create(
        model=MODEL, previous_response_id=first.id, input="What is my name?"
    )
    assert second.output_text == "You are Alice."
    assert second.previous_response_id == first.id
    messages = upstream.recorded(tag)[-1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert f"My name is Alice {tag}" in texts(messages[0])
    assert "Nice to meet you, Alice." in texts(messages[1])
    assert "What is my name?" in texts(messages[2])


def test_max_output_tokens_ends_incomplete_in_both_modes(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("cut off", stop_reason="max_tokens"))
    response = client.responses.create(model=MODEL, input=tag, max_output_tokens=77)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text.startswith("cut off")
    assert upstream.recorded(tag)[-1].body["max_tokens"] == 77

    events = list(
        client.responses.create(model=MODEL, input=tag, max_output_tokens=77, stream=True)
    )
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details is not None
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_json_schema_format_returns_structured_output(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.tool("StructuredOutput", {"city": "Oslo"}))
    response = client.responses.parse(
        model=MODEL, input=f"Where? {tag}", text_format=Place, reasoning={"effort": "low"}
    )
    assert json.loads(response.output_text) == {"city": "Oslo"}
    assert response.output_parsed == Place(city="Oslo")
    body = upstream.recorded(tag)[0].body
    (tool,) = [t for t in body["tools"] if t["name"] == "StructuredOutput"]
    assert tool["input_schema"]["properties"] == {"city": {"title": "City", "type": "string"}}
    assert body["output_config"]["effort"] == "low"


class Place(pydantic.BaseModel):
    city: str
