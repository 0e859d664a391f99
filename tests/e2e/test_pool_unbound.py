"""A system prompt or tool set no process has, served by binding an unbound spare.

A coding agent's new session, or a new app, brings a system prompt (and tools) no
process was started with. The first one waits for a process to start; from then on
the pool keeps an unbound spare (started with ``--await-claim``), and the next new
profile binds it (``claim_session``: system prompt and the client's tools set on the
running CLI) instead of a start. The model sees what a process started with that
profile would send it, and the client's tools work: a call parks and the client's
result continues the same turn.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessageParam,
)

from tests.e2e.harness import LOOKUP_TOOLS, ServerProcess, pool_counts, tool_round_trip, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream, Recorded, Reply, Text, ToolUse

pytestmark = pytest.mark.e2e


def marker() -> str:
    return f"U{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def server(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    env = {"POOL_MAX_PROCESSES": "4", "POOL_UNBOUND_SPARES": "1"}
    with ServerProcess(upstream.url, env=env) as proc:
        assert wait_until(lambda: pool_counts(proc)["clean"] >= 1, timeout=30)
        yield proc


def ready(proc: ServerProcess) -> dict[str, Any]:
    """The pool's counts once nothing is starting and an unbound spare is waiting (the
    tests before may have left one of another base too: ``bound_hits`` tells)."""
    assert wait_until(
        lambda: pool_counts(proc)["unbound"] >= 1 and pool_counts(proc)["starting"] == 0, timeout=30
    )
    return pool_counts(proc)


def shape(request: Recorded, prompt: str) -> dict[str, Any]:
    """What the model was given besides the conversation, ``prompt`` blanked out."""
    body = request.body
    return {
        "system": json.loads(json.dumps(body.get("system")).replace(prompt, "<prompt>")),
        "tools": body.get("tools"),
        "model": body.get("model"),
        "max_tokens": body.get("max_tokens"),
        "tool_choice": body.get("tool_choice"),
    }


def test_a_new_system_prompt_and_tools_bind_a_spare_and_the_model_sees_them_as_at_a_start(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
    first, second = marker(), marker()
    for tag in (first, second):
        upstream.script(tag, Reply.text(f"ok {tag}"))

    # The first new profile waits for a start; the pool then keeps an unbound spare.
    started_for = f"You are the first assistant {first}."
    client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": started_for}, {"role": "user", "content": first}],
        tools=LOOKUP_TOOLS,
    )
    before = ready(server)

    bound_to = f"You are the second assistant {second}."
    answer = client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": bound_to}, {"role": "user", "content": second}],
        tools=LOOKUP_TOOLS,
    )
    assert answer.choices[0].message.content == f"ok {second}"
    after = pool_counts(server)
    assert after["bound_hits"] == before["bound_hits"] + 1
    # Binding used the spare: the only process started since is its replacement.
    assert after["spawned"] <= before["spawned"] + 1

    spawned = shape(upstream.recorded(first)[-1], started_for)
    bound = shape(upstream.recorded(second)[-1], bound_to)
    assert bound == spawned
    assert [tool["name"] for tool in bound["tools"]] == ["lookup"]
    assert bound_to in json.dumps(upstream.recorded(second)[-1].body["system"])


def test_a_bound_process_runs_the_clients_tools_and_continues_the_parked_turn(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
    warm, tag = marker(), marker()
    upstream.script(warm, Reply.text("warm"))
    upstream.script(
        tag,
        Reply(blocks=[Text("Looking."), ToolUse("lookup", {"q": "x"}, id="toolu_bound1")]),
        Reply.text("The answer is 42."),
    )
    # A new profile of the base makes sure a spare is kept (served by one or not).
    client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": f"Warm {warm}"}, {"role": "user", "content": warm}],
    )
    before = ready(server)
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": f"You look things up {tag}."},
        {"role": "user", "content": f"Find {tag}"},
    ]
    call = client.chat.completions.create(model="m", messages=messages, tools=LOOKUP_TOOLS)
    assert pool_counts(server)["bound_hits"] == before["bound_hits"] + 1
    tool_calls = call.choices[0].message.tool_calls or []
    assert [c.id for c in tool_calls] == ["toolu_bound1"]
    messages += tool_round_trip(call.choices[0].message, "toolu_bound1", "42")
    parked_hits = pool_counts(server)["parked_hits"]
    answer = client.chat.completions.create(model="m", messages=messages, tools=LOOKUP_TOOLS)
    assert answer.choices[0].message.content == "The answer is 42."
    assert pool_counts(server)["parked_hits"] == parked_hits + 1
    last = upstream.recorded(tag)[-1].body["messages"]
    result = next(
        block
        for message in last
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    )
    assert result["tool_use_id"] == "toolu_bound1"


def test_an_anthropic_client_with_a_new_system_prompt_is_served_by_binding(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    client = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0)
    first, second = marker(), marker()
    for tag in (first, second):
        upstream.script(tag, Reply.text(f"ok {tag}"))
    # Claude Code's system prompt changes with each session (its date, directory, git
    # state); max_tokens is part of the base, so both requests share it.
    client.messages.create(
        model="m",
        max_tokens=2048,
        system=f"Session one {first}",
        messages=[{"role": "user", "content": first}],
    )
    before = ready(server)
    reply = client.messages.create(
        model="m",
        max_tokens=2048,
        system=f"Session two {second}",
        messages=[{"role": "user", "content": second}],
    )
    assert reply.content[0].type == "text" and reply.content[0].text == f"ok {second}"
    assert pool_counts(server)["bound_hits"] == before["bound_hits"] + 1
    sent = upstream.recorded(second)[-1].body
    started = upstream.recorded(first)[-1].body
    assert sent["max_tokens"] == started["max_tokens"]
    # No tools on either: the spare's standing permission for the client's tools
    # offers the model nothing.
    assert sent.get("tools") == started.get("tools")
    assert sent.get("tool_choice") == started.get("tool_choice")
    assert f"Session two {second}" in json.dumps(sent["system"])
    assert f"Session one {first}" not in json.dumps(sent["system"])
