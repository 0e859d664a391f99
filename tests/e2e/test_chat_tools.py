"""Native function calling: client tools are real tools; calls go back to the client."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply, Text, ToolUse

pytestmark = pytest.mark.e2e

WEATHER_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["c", "f"]},
    },
    "required": ["city"],
    "additionalProperties": False,
}
TOOLS: list[ChatCompletionFunctionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather for a city",
            "parameters": WEATHER_SCHEMA,
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Current time in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    },
]


def marker() -> str:
    return f"T{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=120)


def test_a_tool_call_comes_back_to_the_client(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply(blocks=[ToolUse("get_weather", {"city": "Paris"}, id="toolu_w1")]))
    completion = client.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"Weather in Paris? {tag}"}],
        tools=TOOLS,
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert calls is not None
    assert len(calls) == 1
    assert calls[0].id == "toolu_w1"
    assert calls[0].type == "function"
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    upstream_tools = upstream.recorded(tag)[-1].body["tools"]
    by_name = {tool["name"]: tool for tool in upstream_tools}
    assert set(by_name) == {"get_weather", "get_time"}
    assert by_name["get_weather"]["input_schema"] == WEATHER_SCHEMA
    assert by_name["get_weather"]["description"] == "Get the weather for a city"


def test_streamed_tool_calls_rebuild_exactly_in_the_openai_accumulator(
    client: openai.OpenAI, base_url: str, upstream: FakeUpstream
) -> None:
    tag = marker()
    args_a = {"city": "Paris", "unit": "c"}
    args_b = {"city": "Tokyo"}
    upstream.script(
        tag,
        Reply(
            blocks=[
                Text("Checking both."),
                ToolUse(
                    "get_weather",
                    args_a,
                    id="toolu_a",
                    chunks=['{"city": "Pa', 'ris", "unit": "c"}'],
                ),
                ToolUse("get_time", args_b, id="toolu_b"),
            ]
        ),
    )
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": f"Weather and time {tag}"}
    ]
    with client.chat.completions.stream(
        model="claude-sonnet-4-6",
        messages=messages,
        tools=TOOLS,
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking both."
    calls = choice.message.tool_calls or []
    assert [c.id for c in calls] == ["toolu_a", "toolu_b"]
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c.function.arguments) for c in calls] == [args_a, args_b]

    # The raw wire: first fragment of each call carries index, id, type, name and "".
    fragments: list[dict[str, Any]] = []
    with httpx.stream(
        "POST",
        f"{base_url}/chat/completions",
        json={"model": "m", "stream": True, "messages": messages, "tools": TOOLS},
        timeout=60,
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                delta = json.loads(line[6:])["choices"][0]["delta"]
                fragments.extend(delta.get("tool_calls") or [])
    firsts = [f for f in fragments if "id" in f]
    assert [f["index"] for f in firsts] == [0, 1]
    assert all(f["type"] == "function" and f["function"]["arguments"] == "" for f in firsts)
    assert all(set(f) == {"index", "function"} for f in fragments if "id" not in f)
    joined = "".join(f["function"]["arguments"] for f in fragments if f["index"] == 0)
    assert json.loads(joined) == args_a


def test_parallel_tool_calls_false_surfaces_only_one_call(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(
            blocks=[ToolUse("get_weather", {"city": "A"}), ToolUse("get_weather", {"city": "B"})]
        ),
    )
    completion = client.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": tag}],
        tools=TOOLS,
        parallel_tool_calls=False,
    )
    calls = completion.choices[0].message.tool_calls or []
    assert len(calls) == 1 and calls[0].type == "function"
    assert json.loads(calls[0].function.arguments) == {"city": "A"}
    assert "at most one tool" in upstream.recorded(tag)[-1].system_text()


def test_tool_choice_none_required_and_named(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    none_tag, required_tag, named_tag = marker(), marker(), marker()
    client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": none_tag}],
        tools=TOOLS,
        tool_choice="none",
    )
    assert not upstream.recorded(none_tag)[-1].body.get("tools")

    upstream.script(required_tag, Reply.tool("get_time", {"city": "Oslo"}))
    required = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": required_tag}],
        tools=TOOLS,
        tool_choice="required",
    )
    assert required.choices[0].finish_reason == "tool_calls"
    assert "must call at least one" in upstream.recorded(required_tag)[-1].system_text()

    upstream.script(named_tag, Reply.tool("get_weather", {"city": "Rome"}))
    client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": named_tag}],
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    named_request = upstream.recorded(named_tag)[-1]
    assert [t["name"] for t in named_request.body["tools"]] == ["get_weather"]
    assert "must call the tool `get_weather`" in named_request.system_text()


def test_tool_results_reach_the_model_as_real_tool_result_blocks(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("It is 21 degrees in Paris."))
    completion = client.chat.completions.create(
        model="claude-sonnet-4-6",
        tools=TOOLS,
        messages=[
            {"role": "system", "content": "Use tools."},
            {"role": "user", "content": f"Weather in Paris and Tokyo? {tag}"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Tokyo"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "21C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "30C"},
        ],
    )
    assert completion.choices[0].message.content == "It is 21 degrees in Paris."
    messages = upstream.recorded(tag)[-1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    uses = [b for b in messages[1]["content"] if b["type"] == "tool_use"]
    assert [(u["id"], u["name"], u["input"]) for u in uses] == [
        ("call_1", "get_weather", {"city": "Paris"}),
        ("call_2", "get_weather", {"city": "Tokyo"}),
    ]
    results = [b for b in messages[2]["content"] if b["type"] == "tool_result"]
    assert [r["tool_use_id"] for r in results] == ["call_1", "call_2"]
    texts = [json.dumps(r["content"]) for r in results]
    assert "21C" in texts[0]
    assert "30C" in texts[1]


def test_legacy_functions_and_function_call(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.tool("get_weather", {"city": "Lima"}))
    functions = [TOOLS[0]["function"]]
    completion = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": tag}],
        functions=functions,
        function_call={"name": "get_weather"},
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "function_call"
    assert choice.message.function_call is not None
    assert choice.message.function_call.name == "get_weather"
    assert json.loads(choice.message.function_call.arguments) == {"city": "Lima"}

    follow = marker()
    upstream.script(follow, Reply.text("Lima is sunny."))
    answer = client.chat.completions.create(
        model="m",
        functions=functions,
        messages=[
            {"role": "user", "content": f"weather {follow}"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "get_weather", "arguments": '{"city":"Lima"}'},
            },
            {"role": "function", "name": "get_weather", "content": "sunny"},
        ],
    )
    assert answer.choices[0].message.content == "Lima is sunny."
    messages = upstream.recorded(follow)[-1].body["messages"]
    use = next(b for b in messages[1]["content"] if b["type"] == "tool_use")
    result = next(b for b in messages[2]["content"] if b["type"] == "tool_result")
    assert result["tool_use_id"] == use["id"]


def test_custom_tools_are_rejected_clearly(server: ServerProcess) -> None:
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "custom", "custom": {"name": "grep"}}],
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "tools[0]"


def test_required_tool_choice_sends_a_reply_without_a_call_back_once(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply.text("I can answer without tools."),
        Reply(blocks=[ToolUse("get_time", {"city": "Oslo"}, id="toolu_forced")]),
    )
    completion = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": f"Time in Oslo? {tag}"}],
        tools=TOOLS,
        tool_choice="required",
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [c.id for c in choice.message.tool_calls or []] == ["toolu_forced"]
    second = upstream.recorded(tag)[-1].text
    assert "Call the required tool now" in second
