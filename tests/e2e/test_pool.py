"""The warm pool: reuse, conversation affinity, parked tool turns, isolation, caps, recycling."""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessageParam,
)

from tests.e2e.harness import (
    LOOKUP_TOOLS,
    ServerProcess,
    cli_processes,
    tool_round_trip,
    wait_until,
)
from tests.fakes.anthropic_upstream import FakeUpstream, Reply, Text, ToolUse

pytestmark = pytest.mark.e2e


def marker() -> str:
    return f"P{uuid.uuid4().hex[:10]}"


def turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation turns of an upstream request (newer models also get the CLI's
    environment notes as a mid-conversation ``system`` message, which is not a turn)."""
    return [m for m in messages if m["role"] in ("user", "assistant")]


def status(proc: ServerProcess) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{proc.url}/v1/pool/status", timeout=10).json()
    return result


def spares(proc: ServerProcess) -> int:
    """Idle processes a new conversation can take at once: clean ones, and held ones
    (rewound empty in milliseconds)."""
    counts = status(proc)["processes"]
    return int(counts["clean"] + counts["held"])


@pytest.fixture(scope="module")
def pooled(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    with ServerProcess(upstream.url, env={"POOL_MAX_PROCESSES": "3", "POOL_MIN_WARM": "1"}) as proc:
        assert wait_until(lambda: status(proc)["processes"]["clean"] >= 1, timeout=30)
        yield proc


@pytest.fixture
def client(pooled: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=pooled.url + "/v1", api_key="x", max_retries=0, timeout=60)


def test_a_warm_process_serves_fresh_requests_without_spawning(
    pooled: ServerProcess, client: openai.OpenAI
) -> None:
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": marker()}])
    assert wait_until(lambda: spares(pooled) >= 1, timeout=30)
    spawned = status(pooled)["processes"]["spawned"]
    for _ in range(3):
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "ping"}]
        )
        assert reply.choices[0].message.content == "You said: ping"
        assert wait_until(lambda: spares(pooled) >= 1, timeout=30)
    # Replacement spares may be started in the background, but no request waited for a spawn:
    # every request found a clean process, so at most one spare per request was started.
    assert status(pooled)["processes"]["spawned"] - spawned <= 3
    assert status(pooled)["processes"]["total"] <= 3


def test_a_stateless_follow_up_goes_to_the_process_that_holds_the_conversation(
    pooled: ServerProcess, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    first: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"Remember {tag}"}]
    reply = client.chat.completions.create(model="m", messages=first)
    hits = status(pooled)["processes"]["affinity_hits"]
    follow: list[ChatCompletionMessageParam] = [
        *first,
        {"role": "assistant", "content": reply.choices[0].message.content},
        {"role": "user", "content": "And now?"},
    ]
    second = client.chat.completions.create(model="m", messages=follow)
    assert second.choices[0].message.content == "You said: And now?"
    assert status(pooled)["processes"]["affinity_hits"] == hits + 1
    upstream_messages = turns(upstream.recorded(tag)[-1].body["messages"])
    assert [m["role"] for m in upstream_messages] == ["user", "assistant", "user"]
    assert upstream_messages[1]["content"][0]["text"] == f"You said: Remember {tag}"


def test_a_changed_history_is_never_answered_from_a_held_process(
    pooled: ServerProcess, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    first: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"Fact {tag}"}]
    client.chat.completions.create(model="m", messages=first)
    hits = status(pooled)["processes"]["affinity_hits"]
    edited: list[ChatCompletionMessageParam] = [
        *first,
        {"role": "assistant", "content": "an answer the model never gave"},
        {"role": "user", "content": f"Next {tag}"},
    ]
    client.chat.completions.create(model="m", messages=edited)
    assert status(pooled)["processes"]["affinity_hits"] == hits
    upstream_messages = turns(upstream.recorded(f"Next {tag}")[-1].body["messages"])
    assert upstream_messages[1]["content"][0]["text"] == "an answer the model never gave"


def test_processes_never_show_one_conversation_to_another(
    pooled: ServerProcess, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tags = [marker() for _ in range(8)]
    for tag in tags:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"secret {tag}"}]
        )
    for tag in tags:
        requests = upstream.recorded(tag)
        assert len(requests) == 1, f"{tag} reached another conversation"
        others = [t for t in tags if t != tag]
        assert not any(other in requests[0].text for other in others)


def test_a_parked_tool_turn_continues_on_the_same_process(
    pooled: ServerProcess, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(blocks=[Text("Looking."), ToolUse("lookup", {"q": "x"}, id="toolu_park1")]),
        Reply.text("The answer is 42."),
    )
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"Find {tag}"}]
    call = client.chat.completions.create(model="m", messages=messages, tools=LOOKUP_TOOLS)
    tool_calls = call.choices[0].message.tool_calls or []
    assert [c.id for c in tool_calls] == ["toolu_park1"]
    assert status(pooled)["processes"]["parked"] >= 1
    # The spare that replaces the parked process may still be starting: count after it.
    assert wait_until(lambda: status(pooled)["processes"]["starting"] == 0, timeout=30)
    parked_hits = status(pooled)["processes"]["parked_hits"]
    spawned = status(pooled)["processes"]["spawned"]
    messages += tool_round_trip(call.choices[0].message, "toolu_park1", "42")
    answer = client.chat.completions.create(model="m", messages=messages, tools=LOOKUP_TOOLS)
    assert answer.choices[0].message.content == "The answer is 42."
    assert status(pooled)["processes"]["parked_hits"] == parked_hits + 1
    assert status(pooled)["processes"]["spawned"] == spawned
    last = turns(upstream.recorded(tag)[-1].body["messages"])
    result = next(b for b in last[-1]["content"] if b["type"] == "tool_result")
    assert result["tool_use_id"] == "toolu_park1"
    assert "42" in json.dumps(result["content"])


def test_disconnect_and_timeout_leave_no_poisoned_process(upstream: FakeUpstream) -> None:
    with ServerProcess(
        upstream.url, env={"POOL_MAX_PROCESSES": "1", "POOL_MIN_WARM": "1", "MAX_TIMEOUT": "3000"}
    ) as proc:
        assert proc.process is not None
        slow = marker()
        upstream.script(slow, Reply.text(" ".join(["tick"] * 100), delay=0.1))
        with httpx.stream(
            "POST",
            proc.url + "/v1/chat/completions",
            json={"stream": True, "messages": [{"role": "user", "content": f"leak {slow}"}]},
            timeout=30,
        ) as response:
            for line in response.iter_lines():
                if "tick" in line:
                    break
        hang = marker()
        upstream.script(hang, Reply.text("x", first_delay=60))
        timed_out = httpx.post(
            proc.url + "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": f"leak {hang}"}]},
            timeout=30,
        )
        assert timed_out.status_code == 504
        after = marker()
        reply = httpx.post(
            proc.url + "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": after}]},
            timeout=30,
        )
        assert reply.json()["choices"][0]["message"]["content"] == f"You said: {after}"
        seen = upstream.recorded(after)[-1].text
        assert slow not in seen
        assert hang not in seen
        assert len(cli_processes(proc.process.pid)) <= 1 + 1  # the cap, plus one being replaced


def test_concurrency_cap_answers_429_and_503_with_retry_after(upstream: FakeUpstream) -> None:
    slow = marker()
    upstream.script(slow, Reply.text("slow reply", first_delay=4))
    env = {"MAX_CONCURRENT_TURNS": "1", "MAX_QUEUED_TURNS": "1", "QUEUE_TIMEOUT_SECONDS": "1"}
    with ServerProcess(upstream.url, env=env) as proc:
        body = {"messages": [{"role": "user", "content": slow}]}
        holder = threading.Thread(
            target=lambda: httpx.post(proc.url + "/v1/chat/completions", json=body, timeout=60)
        )
        holder.start()
        assert wait_until(lambda: status(proc)["turns_running"] == 1, timeout=20)
        results: list[httpx.Response] = []
        waiter = threading.Thread(
            target=lambda: results.append(
                httpx.post(proc.url + "/v1/chat/completions", json=body, timeout=60)
            )
        )
        waiter.start()
        assert wait_until(lambda: status(proc)["turns_waiting"] == 1, timeout=20)
        overflow = httpx.post(proc.url + "/v1/chat/completions", json=body, timeout=60)
        assert overflow.status_code == 429
        assert int(overflow.headers["retry-after"]) >= 1
        waiter.join(30)
        assert results[0].status_code == 503
        assert int(results[0].headers["retry-after"]) >= 1
        holder.join(60)


def test_processes_are_recycled_and_crashes_replaced(upstream: FakeUpstream) -> None:
    env = {"POOL_MAX_PROCESSES": "2", "POOL_MIN_WARM": "1", "POOL_MAX_TURNS_PER_PROCESS": "2"}
    with ServerProcess(upstream.url, env=env) as proc:
        assert wait_until(lambda: status(proc)["processes"]["clean"] >= 1, timeout=30)
        spawned = status(proc)["processes"]["spawned"]
        for _ in range(4):
            httpx.post(
                proc.url + "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "cycle"}]},
                timeout=30,
            )
        assert wait_until(lambda: status(proc)["processes"]["spawned"] >= spawned + 1, timeout=30)
        assert wait_until(lambda: spares(proc) >= 1, timeout=30)
        for pid in status(proc)["pids"]:
            os.kill(pid, signal.SIGKILL)
        tag = marker()
        reply = httpx.post(
            proc.url + "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": tag}]},
            timeout=30,
        )
        # A request may meet a process that died a moment ago: it fails cleanly (5xx) and
        # the pool replaces the process; the next request is served.
        if reply.status_code != 200:
            assert reply.status_code in (502, 503)
            reply = httpx.post(
                proc.url + "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": tag}]},
                timeout=30,
            )
        assert reply.json()["choices"][0]["message"]["content"] == f"You said: {tag}"


def test_pool_reset_replace_gives_every_conversation_a_pristine_process(
    upstream: FakeUpstream,
) -> None:
    env = {"POOL_MAX_PROCESSES": "2", "POOL_MIN_WARM": "1", "POOL_RESET": "replace"}
    with ServerProcess(upstream.url, env=env) as proc:
        tags = [marker() for _ in range(3)]
        for tag in tags:
            reply = httpx.post(
                proc.url + "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": tag}]},
                timeout=60,
            )
            assert reply.status_code == 200
        for tag in tags:
            text = upstream.recorded(tag)[-1].text
            assert "/clear" not in text
            assert "command-name" not in text


def test_one_shot_traffic_stays_on_a_few_warm_processes(upstream: FakeUpstream) -> None:
    # Held conversations expire after a second and nobody comes back for them, so the
    # pool learns that holding does not pay: it then makes spares by clearing the
    # process it used last instead of starting new ones up to POOL_MAX_PROCESSES.
    env = {
        "POOL_MAX_PROCESSES": "6",
        "POOL_MIN_WARM": "1",
        "POOL_AFFINITY_TTL_SECONDS": "1",
        "POOL_IDLE_TIMEOUT_SECONDS": "1",
    }

    def one_shot(http: httpx.Client) -> None:
        tag = marker()
        reply = http.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": tag}]}
        )
        assert reply.json()["choices"][0]["message"]["content"] == f"You said: {tag}"

    with (
        ServerProcess(upstream.url, env=env) as proc,
        httpx.Client(base_url=proc.url, timeout=60) as http,
    ):
        for _ in range(25):
            one_shot(http)
        assert wait_until(
            lambda: (
                status(proc)["processes"]["hold_claim_rate_pct"] < 10
                and status(proc)["processes"]["total"] <= 2
            ),
            timeout=60,
        ), status(proc)
        spawned = status(proc)["processes"]["spawned"]
        for _ in range(10):
            one_shot(http)
        after = status(proc)["processes"]
        assert after["spawned"] - spawned <= 1, after
        assert after["total"] <= 2, after


def test_a_new_server_is_ready_once_its_warm_process_is_up(upstream: FakeUpstream) -> None:
    """``/health`` answers as soon as the server listens; ``/healthz/ready`` only once
    the pool's first warm process is up, so the first request sent then finds it."""
    env = {"POOL_MAX_PROCESSES": "2", "POOL_MIN_WARM": "1", "POOL_SPARES_PER_PROFILE": "0"}
    with ServerProcess(upstream.url, env=env) as proc:  # returns once /health is 200
        answers: list[httpx.Response] = []

        def ready() -> bool:
            answers.append(httpx.get(f"{proc.url}/healthz/ready", timeout=10))
            return answers[-1].status_code == 200

        assert wait_until(ready, timeout=30)
        at_ready = status(proc)["processes"]
        for answer in answers[:-1]:  # before the warm process was up
            assert answer.status_code == 503
            assert answer.headers["retry-after"] == "1"
            assert answer.json()["status"] == "starting"
        assert answers[-1].json()["status"] == "ready"
        assert at_ready["total"] - at_ready["starting"] >= 1
        assert at_ready["spawned"] == 1
        reply = httpx.post(
            f"{proc.url}/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "ping"}]},
            timeout=60,
        )
        assert reply.json()["choices"][0]["message"]["content"] == "You said: ping"
        assert status(proc)["processes"]["spawned"] == 1  # the warm process served it
        assert httpx.get(f"{proc.url}/healthz/ready", timeout=10).status_code == 200
