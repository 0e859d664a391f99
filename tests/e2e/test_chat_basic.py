"""Chat completions through the whole real chain: openai client -> server -> SDK -> CLI -> fake."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import openai
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e


def marker() -> str:
    return f"M{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)


def test_non_stream_returns_the_models_reply_and_real_usage(
    client: openai.OpenAI, upstream: FakeUpstream
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
    completion = client.chat.completions.create(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": f"hi {tag}"}]
    )
    assert completion.object == "chat.completion"
    assert completion.model == "claude-sonnet-4-6"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello from the fake"
    assert choice.finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == 21 + 5 + 3
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 5
    assert usage.completion_tokens == 4
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    request = upstream.recorded(tag)[-1]
    assert request.body["model"] == "claude-sonnet-4-6"


def test_system_and_developer_messages_reach_the_upstream_system_prompt(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag, dev = marker(), marker()
    client.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[
            {"role": "system", "content": f"You are a pirate {tag}."},
            {"role": "developer", "content": f"Answer briefly {dev}."},
            {"role": "user", "content": "Say hi"},
        ],
    )
    request = upstream.recorded(tag)[-1]
    system = request.system_text()
    assert f"You are a pirate {tag}." in system
    assert f"Answer briefly {dev}." in system
    user_text = json.dumps(request.body["messages"])
    assert tag not in user_text


def test_earlier_turns_reach_the_model_as_real_alternating_turns(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    client.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[
            {"role": "user", "content": f"My name is Alice {tag}"},
            {"role": "assistant", "content": "Nice to meet you, Alice."},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    messages = upstream.recorded(tag)[-1].body["messages"]
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant", "user"]
    assert messages[0]["content"][0]["text"] == f"My name is Alice {tag}"
    assert messages[1]["content"][0]["text"] == "Nice to meet you, Alice."
    assert any(block.get("text") == "What is my name?" for block in messages[2]["content"])


def test_stream_sends_role_first_one_finish_reason_and_done(
    base_url: str, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("one two three"))
    frames: list[str] = []
    with httpx.stream(
        "POST",
        f"{base_url}/chat/completions",
        json={
            "model": "claude-sonnet-4-6",
            "stream": True,
            "messages": [{"role": "user", "content": tag}],
        },
        timeout=60,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                frames.append(line[6:])
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    assert len({c["created"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    finishes = [
        c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]
    ]
    assert finishes == ["stop"]
    assert all(c.get("usage") is None for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "one two three"
    assert sum(1 for c in chunks if c["choices"][0]["delta"].get("content")) == 3


def test_stream_include_usage_adds_one_usage_chunk(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("alpha beta", usage={"input_tokens": 30}))
    stream = client.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": tag}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    with_usage = [c for c in chunks if c.usage is not None]
    assert len(with_usage) == 1
    assert with_usage[0] is chunks[-1]
    assert with_usage[0].choices == []
    assert with_usage[0].usage is not None
    assert with_usage[0].usage.prompt_tokens == 30
    assert with_usage[0].usage.completion_tokens == 2


def test_stream_is_really_incremental(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("w1 w2 w3 w4 w5 w6", delay=0.25))
    arrivals: list[float] = []
    stream = client.chat.completions.create(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": tag}], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
    assert len(arrivals) == 6
    # Six words 0.25 s apart: the first arrives long before the last.
    assert arrivals[-1] - arrivals[0] >= 0.8


def test_model_is_passed_through_and_echoed(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    tag = marker()
    completion = client.chat.completions.create(
        model="claude-opus-4-7", messages=[{"role": "user", "content": tag}]
    )
    assert completion.model == "claude-opus-4-7"
    assert upstream.recorded(tag)[-1].body["model"] == "claude-opus-4-7"


def test_models_health_and_version(server: ServerProcess) -> None:
    models = httpx.get(f"{server.url}/v1/models").json()
    assert models["object"] == "list"
    ids = [m["id"] for m in models["data"]]
    assert "claude-sonnet-5-5" in ids
    assert all(m["object"] == "model" and m["owned_by"] == "anthropic" for m in models["data"])
    assert httpx.get(f"{server.url}/health").json()["status"] == "healthy"
    version = httpx.get(f"{server.url}/version").json()
    assert version["version"]
    assert httpx.get(f"{server.url}/v1/models").headers["x-request-id"]
