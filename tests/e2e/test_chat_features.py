"""Structured outputs, images, reasoning, n, stop, max_tokens and the fate of every other field."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import openai
import pytest
from openai.types.shared_params import ResponseFormatJSONSchema

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply, Text, Thinking, ToolUse

pytestmark = pytest.mark.e2e

PERSON: dict[str, object] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
# A 1x1 transparent PNG.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def marker() -> str:
    return f"F{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=120)


def schema_format(schema: dict[str, object]) -> ResponseFormatJSONSchema:
    return {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": schema, "strict": True},
    }


def test_json_schema_uses_native_structured_output(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(
            blocks=[Text("Here it is:"), ToolUse("StructuredOutput", {"name": "Ada", "age": 36})]
        ),
    )
    completion = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": f"Who? {tag}"}],
        response_format=schema_format(PERSON),
    )
    content = completion.choices[0].message.content
    assert content is not None
    assert json.loads(content) == {"name": "Ada", "age": 36}
    assert completion.choices[0].finish_reason == "stop"
    tool = next(
        t for t in upstream.recorded(tag)[-1].body["tools"] if t["name"] == "StructuredOutput"
    )
    assert tool["input_schema"]["properties"] == PERSON["properties"]

    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": f"Who? {tag}"}],
            response_format=schema_format(PERSON),
            stream=True,
        )
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert json.loads(streamed) == {"name": "Ada", "age": 36}


def test_output_that_never_fits_the_schema_is_a_clear_error(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.tool("StructuredOutput", {"name": "no age"}))
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={
            "messages": [{"role": "user", "content": tag}],
            "response_format": schema_format(PERSON),
        },
        timeout=120,
    )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "structured_output_failed"


def test_json_object_returns_one_object(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.tool("StructuredOutput", {"colors": ["red", "blue"]}))
    completion = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": f"Colors as JSON {tag}"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(completion.choices[0].message.content or "") == {"colors": ["red", "blue"]}
    tool = next(
        t for t in upstream.recorded(tag)[-1].body["tools"] if t["name"] == "StructuredOutput"
    )
    assert tool["input_schema"]["type"] == "object"


def test_images_reach_the_model_as_image_blocks(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    client.chat.completions.create(
        model="m",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Describe {tag}"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            }
        ],
    )
    content = upstream.recorded(tag)[-1].body["messages"][0]["content"]
    images = [block for block in content if block["type"] == "image"]
    assert images[0]["source"] == {"type": "base64", "media_type": "image/png", "data": PNG}
    assert images[1]["source"] == {"type": "url", "url": "https://example.com/cat.jpg"}


def test_images_in_earlier_turns_are_replayed_too(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    client.chat.completions.create(
        model="m",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Look {tag}"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            },
            {"role": "assistant", "content": "A dot."},
            {"role": "user", "content": "What colour?"},
        ],
    )
    first = upstream.recorded(tag)[-1].body["messages"][0]["content"]
    assert any(block["type"] == "image" for block in first)


def test_unsupported_image_type_is_400(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": f"data:image/tiff;base64,{PNG}"}}
                    ],
                }
            ]
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages[0].content[0].image_url.url"


def test_reasoning_effort_and_thinking_headers_reach_the_cli(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    low, off = marker(), marker()
    client.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": low}],
        reasoning_effort="low",
    )
    assert upstream.recorded(low)[-1].body["output_config"]["effort"] == "low"
    client.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": off}],
        extra_headers={"X-Claude-Thinking": "disabled", "X-Claude-Effort": "max"},
    )
    body = upstream.recorded(off)[-1].body
    assert body["thinking"] == {"type": "disabled"}
    assert body["output_config"]["effort"] == "max"


def test_bad_claude_header_is_400(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers={"X-Claude-Thinking": "sometimes"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "x-claude-thinking"


def test_thinking_is_returned_as_reasoning_content(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(
            blocks=[Thinking("Let me think it over."), Text("Answer.")],
            usage={"output_tokens": 9, "output_tokens_details": {"thinking_tokens": 6}},
        ),
    )
    completion = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": tag}]
    )
    message = completion.choices[0].message
    assert message.content == "Answer."
    assert getattr(message, "reasoning_content", None) == "Let me think it over."
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 6

    chunks = list(
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": tag}], stream=True
        )
    )
    reasoning = "".join(
        getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices
    )
    assert reasoning == "Let me think it over."


def test_n_runs_several_completions(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("first answer"), Reply.text("second answer"))
    completion = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": tag}], n=2
    )
    assert [c.index for c in completion.choices] == [0, 1]
    assert sorted(c.message.content or "" for c in completion.choices) == [
        "first answer",
        "second answer",
    ]
    assert len(upstream.recorded(tag)) == 2

    stream_tag = marker()
    upstream.script(stream_tag, Reply.text("a b c", delay=0.05))
    chunks = list(
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": stream_tag}], n=3, stream=True
        )
    )
    finishes: dict[int, list[str]] = {}
    texts: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
            if choice.finish_reason:
                finishes.setdefault(choice.index, []).append(choice.finish_reason)
    assert finishes == {0: ["stop"], 1: ["stop"], 2: ["stop"]}
    assert texts == {0: "a b c", 1: "a b c", 2: "a b c"}


def test_stop_sequences_end_the_output_in_both_modes(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(blocks=[Text("alpha beta END gamma", chunks=["alpha be", "ta E", "ND gam", "ma"])]),
    )
    completion = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": tag}], stop=["END", "zzz"]
    )
    assert completion.choices[0].message.content == "alpha beta "
    assert completion.choices[0].finish_reason == "stop"
    chunks = list(
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": tag}], stop="END", stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "alpha beta "
    assert [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ] == ["stop"]


def test_max_tokens_sets_the_limit_and_length_is_reported(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("cut off", stop_reason="max_tokens"))
    completion = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": tag}], max_completion_tokens=77
    )
    assert completion.choices[0].finish_reason == "length"
    assert upstream.recorded(tag)[-1].body["max_tokens"] == 77


def test_sampling_and_bookkeeping_fields_are_accepted(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    completion = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": tag}],
        temperature=0.2,
        top_p=0.9,
        presence_penalty=0.1,
        frequency_penalty=0.1,
        seed=7,
        logit_bias={"50256": -100},
        user="user-1",
        metadata={"k": "v"},
        store=False,
        service_tier="auto",
    )
    assert completion.choices[0].message.content == f"You said: {tag}"


def test_compatibility_reports_each_field(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + "/v1/compatibility",
        json={
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.3,
            "tools": [],
            "logprobs": True,
            "frobnicate": 1,
        },
        headers={"x-claude-effort": "low"},
    )
    assert response.status_code == 200
    body = response.json()
    fates = {f["field"]: f["status"] for f in body["fields"]}
    assert fates["temperature"] == "ignored"
    assert fates["tools"] == "honoured"
    assert fates["logprobs"] == "rejected"
    assert fates["frobnicate"] == "unknown"
    assert body["accepted"] is False
    assert "logprobs" in body["error"]
    assert "messages" in body["compatibility_report"]["supported_parameters"]
    assert [h["field"] for h in body["headers"]] == ["x-claude-effort"]
