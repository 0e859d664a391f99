"""A conversation no process holds, taken on by a warm process through the real CLI.

A stateless client after a restart, on another replica, or a coding agent's first
call sends a whole history the pool has not seen. Its earlier messages are appended
to a clean warm process as they are (no upstream call, no spawn), and the model sees
exactly the client's turns: text, images, tool calls with their ids, tool results,
thinking. The follow-up is then an ordinary pool hit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.e2e.harness import (
    ServerProcess,
    one_process_server,
    pool_settled,
)
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e

PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)


def marker() -> str:
    return f"S{uuid.uuid4().hex[:10]}"


def conversation(body: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each turn the upstream received, its blocks without the CLI's cache markers."""
    found = []
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        cleaned = [{k: v for k, v in part.items() if k != "cache_control"} for part in content]
        found.append((message["role"], cleaned))
    return found


@pytest.fixture(scope="module")
def one_process(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    with one_process_server(upstream.url) as proc:
        yield proc


def test_an_unseen_chat_history_with_tool_calls_is_answered_by_a_warm_process(
    one_process: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    client = openai.OpenAI(base_url=one_process.url + "/v1", api_key="x", max_retries=0)
    history: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": f"You help with the weather {tag}."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": f"Where is this? {tag}"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
            ],
        },
        {"role": "assistant", "content": "That looks like Paris."},
        {"role": "user", "content": "What is the weather there?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_weather_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_weather_1", "content": "Sunny, 21 C"},
        {"role": "assistant", "content": "It is sunny and 21 C in Paris."},
        {"role": "user", "content": f"And tomorrow? {tag}"},
    ]
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "The weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    # A process of this start-up configuration (system prompt, tools) exists: the
    # conversation is then new to it, not the configuration.
    client.chat.completions.create(
        model="m", messages=[history[0], {"role": "user", "content": f"hi {tag}"}], tools=tools
    )
    before = pool_settled(one_process)
    reply = client.chat.completions.create(model="m", messages=history, tools=tools)
    assert reply.choices[0].message.content == f"You said: And tomorrow? {tag}"
    body = upstream.recorded(f"And tomorrow? {tag}")[-1].body
    assert conversation(body) == [
        (
            "user",
            [
                {"type": "text", "text": f"Where is this? {tag}"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
                },
            ],
        ),
        ("assistant", [{"type": "text", "text": "That looks like Paris."}]),
        ("user", [{"type": "text", "text": "What is the weather there?"}]),
        (
            "assistant",
            [
                {
                    "type": "tool_use",
                    "id": "call_weather_1",
                    "name": "weather",
                    "input": {"city": "Paris"},
                }
            ],
        ),
        (
            "user",
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "call_weather_1",
                    "content": [{"type": "text", "text": "Sunny, 21 C"}],
                }
            ],
        ),
        ("assistant", [{"type": "text", "text": "It is sunny and 21 C in Paris."}]),
        ("user", [{"type": "text", "text": f"And tomorrow? {tag}"}]),
    ]
    assert f"You help with the weather {tag}." in upstream.recorded(tag)[-1].system_text()
    after = pool_settled(one_process)
    assert after["spawned"] == before["spawned"]
    assert after["seeded_hits"] == before["seeded_hits"] + 1

    # The process now holds the conversation: the follow-up is an affinity hit.
    assert reply.choices[0].message.content is not None
    follow_up: list[ChatCompletionMessageParam] = [
        *history,
        {"role": "assistant", "content": reply.choices[0].message.content},
        {"role": "user", "content": f"Thanks {tag}"},
    ]
    client.chat.completions.create(model="m", messages=follow_up, tools=tools)
    final = pool_settled(one_process)
    assert final["affinity_hits"] == after["affinity_hits"] + 1
    assert final["spawned"] == before["spawned"]


def test_an_unseen_anthropic_history_keeps_thinking_and_tool_blocks(
    one_process: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    client = anthropic.Anthropic(base_url=one_process.url, api_key="x", max_retries=0)
    thinking = {"type": "thinking", "thinking": "Look it up.", "signature": "sig-abc"}
    tool_use = {"type": "tool_use", "id": "toolu_seed_1", "name": "lookup", "input": {"q": tag}}
    result = {"type": "tool_result", "tool_use_id": "toolu_seed_1", "content": "found it"}
    messages: list[Any] = [
        {"role": "user", "content": f"Find {tag}"},
        {"role": "assistant", "content": [thinking, tool_use]},
        {"role": "user", "content": [result]},
        {"role": "assistant", "content": "Here it is."},
        {"role": "user", "content": f"Once more {tag}"},
    ]
    tools: list[Any] = [
        {"name": "lookup", "description": "Look up.", "input_schema": {"type": "object"}}
    ]
    client.messages.create(
        model="m", max_tokens=100, messages=[{"role": "user", "content": f"hi {tag}"}], tools=tools
    )
    before = pool_settled(one_process)
    reply = client.messages.create(model="m", max_tokens=100, messages=messages, tools=tools)
    assert reply.content[0].type == "text"
    body = upstream.recorded(f"Once more {tag}")[-1].body
    got = conversation(body)
    assert [role for role, _ in got] == ["user", "assistant", "user", "assistant", "user"]
    assert got[1][1] == [thinking, tool_use]
    assert got[2][1] == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_seed_1",
            "content": [{"type": "text", "text": "found it"}],
        }
    ]
    after = pool_settled(one_process)
    assert after["spawned"] == before["spawned"]
    assert after["seeded_hits"] == before["seeded_hits"] + 1


def test_a_history_that_starts_with_a_slash_is_not_run_as_a_command(
    one_process: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    client = openai.OpenAI(base_url=one_process.url + "/v1", api_key="x", max_retries=0)
    history: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": f"/clear {tag}"},
        {"role": "assistant", "content": "That is just text to me."},
        {"role": "user", "content": f"@/etc/passwd next {tag}"},
    ]
    client.chat.completions.create(model="m", messages=history)
    body = upstream.recorded(f"next {tag}")[-1].body
    assert conversation(body) == [
        ("user", [{"type": "text", "text": f"/clear {tag}"}]),
        ("assistant", [{"type": "text", "text": "That is just text to me."}]),
        ("user", [{"type": "text", "text": f"@/etc/passwd next {tag}"}]),
    ]
