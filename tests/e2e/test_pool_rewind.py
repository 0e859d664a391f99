"""Rewinding a warm process through the real CLI: a few-shot prompt's examples stay in
one process and each new question is answered after a rewind to them (no spawn), and a
process reset for a new conversation shows it nothing of the last one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.e2e.harness import (
    ServerProcess,
    one_process_server,
    pool_counts,
    upstream_turns,
)
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e


def marker() -> str:
    return f"R{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def one_process(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    with one_process_server(upstream.url) as proc:
        yield proc


@pytest.fixture
def client(one_process: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=one_process.url + "/v1", api_key="x", max_retries=0, timeout=60)


def test_a_few_shot_prompt_is_answered_by_rewinding_the_process_holding_its_examples(
    one_process: ServerProcess, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    examples: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": f"Classify the sentiment {tag}."},
        {"role": "user", "content": "I love it"},
        {"role": "assistant", "content": "positive"},
        {"role": "user", "content": "I hate it"},
        {"role": "assistant", "content": "negative"},
    ]
    first: list[ChatCompletionMessageParam] = [
        *examples,
        {"role": "user", "content": f"question one {tag}"},
    ]
    client.chat.completions.create(model="m", messages=first)
    before = pool_counts(one_process)
    for n in ("two", "three"):
        question = f"question {n} {tag}"
        reply = client.chat.completions.create(
            model="m", messages=[*examples, {"role": "user", "content": question}]
        )
        assert reply.choices[0].message.content == f"You said: {question}"
        # The model saw the real example turns and the new question, nothing else.
        assert upstream_turns(upstream.recorded(question)[-1].body) == [
            ("user", "I love it"),
            ("assistant", "positive"),
            ("user", "I hate it"),
            ("assistant", "negative"),
            ("user", question),
        ]
    after = pool_counts(one_process)
    assert after["spawned"] == before["spawned"]
    assert after["prefix_hits"] == before["prefix_hits"] + 2


def test_a_regenerated_last_message_is_answered_on_the_same_process(
    one_process: ServerProcess, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    history: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"hello {tag}"}]
    reply = client.chat.completions.create(model="m", messages=history)
    history.append({"role": "assistant", "content": reply.choices[0].message.content})
    client.chat.completions.create(
        model="m", messages=[*history, {"role": "user", "content": f"first try {tag}"}]
    )
    before = pool_counts(one_process)
    retry = f"second try {tag}"
    client.chat.completions.create(
        model="m", messages=[*history, {"role": "user", "content": retry}]
    )
    assert upstream_turns(upstream.recorded(retry)[-1].body) == [
        ("user", f"hello {tag}"),
        ("assistant", f"You said: hello {tag}"),
        ("user", retry),
    ]
    after = pool_counts(one_process)
    assert after["spawned"] == before["spawned"]
    assert after["prefix_hits"] == before["prefix_hits"] + 1


def test_a_reset_process_shows_the_next_conversation_nothing_of_the_last(
    one_process: ServerProcess, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    secret, fresh = marker(), marker()
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": secret}])
    spawned = pool_counts(one_process)["spawned"]
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": fresh}])
    body = upstream.recorded(fresh)[-1].body
    assert upstream_turns(body) == [("user", fresh)]
    sent = json.dumps(body["messages"])
    assert secret not in sent
    assert "/clear" not in sent  # a rewind leaves no note of a command behind
    assert pool_counts(one_process)["spawned"] == spawned
