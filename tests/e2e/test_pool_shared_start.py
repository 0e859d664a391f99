"""A history whose start a warm process holds, through the real CLI: the process is
rewound to that start (or kept as it is when it holds all of it), only the rest is
appended, and the model sees exactly the client's turns.

Two clients of one few-shot chat share its examples: when the second client's
question takes the process, the first client's follow-up finds its own turns gone
but the examples held. And a conversation that went on elsewhere (another replica)
comes back with turns the process never saw.
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
    upstream_turns,
)
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e


def marker() -> str:
    return f"H{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def one_process(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    with one_process_server(upstream.url) as proc:
        yield proc


def test_a_follow_up_under_shared_examples_is_appended_after_a_rewind_to_them(
    one_process: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    client = openai.OpenAI(base_url=one_process.url + "/v1", api_key="x", max_retries=0)
    examples: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": f"Answer in one word {tag}."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris"},
        {"role": "user", "content": "Capital of Italy?"},
        {"role": "assistant", "content": "Rome"},
    ]
    first = f"first client {tag}"
    one = client.chat.completions.create(
        model="m", messages=[*examples, {"role": "user", "content": first}]
    )
    # The second client's question takes the one process: rewound to the examples.
    client.chat.completions.create(
        model="m", messages=[*examples, {"role": "user", "content": f"second client {tag}"}]
    )
    before = pool_settled(one_process)
    again = f"first client again {tag}"
    reply = client.chat.completions.create(
        model="m",
        messages=[
            *examples,
            {"role": "user", "content": first},
            {"role": "assistant", "content": one.choices[0].message.content},
            {"role": "user", "content": again},
        ],
    )
    assert reply.choices[0].message.content == f"You said: {again}"
    assert upstream_turns(upstream.recorded(again)[-1].body) == [
        ("user", "Capital of France?"),
        ("assistant", "Paris"),
        ("user", "Capital of Italy?"),
        ("assistant", "Rome"),
        ("user", first),
        ("assistant", f"You said: {first}"),
        ("user", again),
    ]
    after = pool_settled(one_process)
    assert after["shared_hits"] == before["shared_hits"] + 1
    assert after["seeded_hits"] == before["seeded_hits"]
    assert after["spawned"] == before["spawned"]


def test_a_conversation_that_went_on_elsewhere_is_appended_to_the_process_holding_its_start(
    one_process: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    client = anthropic.Anthropic(base_url=one_process.url, api_key="x", max_retries=0)
    opening = f"hello {tag}"
    first = client.messages.create(
        model="m", max_tokens=100, messages=[{"role": "user", "content": opening}]
    )
    assert first.content[0].type == "text"
    before = pool_settled(one_process)
    back = f"back again {tag}"
    messages: list[Any] = [
        {"role": "user", "content": opening},
        {"role": "assistant", "content": first.content[0].text},
        {"role": "user", "content": f"asked elsewhere {tag}"},
        {"role": "assistant", "content": "answered by another replica"},
        {"role": "user", "content": back},
    ]
    reply = client.messages.create(model="m", max_tokens=100, messages=messages)
    assert reply.content[0].type == "text"
    assert reply.content[0].text == f"You said: {back}"
    assert upstream_turns(upstream.recorded(back)[-1].body) == [
        ("user", opening),
        ("assistant", f"You said: {opening}"),
        ("user", f"asked elsewhere {tag}"),
        ("assistant", "answered by another replica"),
        ("user", back),
    ]
    after = pool_settled(one_process)
    assert after["shared_hits"] == before["shared_hits"] + 1
    assert after["spawned"] == before["spawned"]
    # It holds the whole conversation now: the next follow-up is an affinity hit.
    more = f"one more {tag}"
    client.messages.create(
        model="m",
        max_tokens=100,
        messages=[
            *messages,
            {"role": "assistant", "content": reply.content[0].text},
            {"role": "user", "content": more},
        ],
    )
    final = pool_settled(one_process)
    assert final["affinity_hits"] == after["affinity_hits"] + 1
    assert final["spawned"] == before["spawned"]
