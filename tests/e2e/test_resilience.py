"""Retries, the fallback model, the circuit breaker and the CPU budget, end to end.

Official clients -> the server under hypercorn -> the real CLI -> the fake upstream,
which scripts overloads and failures per marker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import ServerProcess, cli_processes, stream_chat, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
MODEL = "claude-opus-4-7"
FALLBACK = "claude-haiku-4-5-20251001"


def marker() -> str:
    return f"R{uuid.uuid4().hex[:10]}"


def metric(server: ServerProcess, name: str, **labels: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def overloaded() -> Reply:
    return Reply.error(529, "overloaded_error", "Overloaded")


def openai_client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)


# ------------------------------------------------------------------------------------
# Retries and the fallback model


@pytest.fixture(scope="module")
def resilient(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    env = {
        "UPSTREAM_RETRIES": "2",
        "UPSTREAM_RETRY_BASE_SECONDS": "0.05",
        "FALLBACK_MODEL": FALLBACK,
        "FALLBACK_AFTER_OVERLOADS": "2",
        "WRAPPER_CIRCUIT_BREAKER_ENABLED": "false",
    }
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def test_an_overload_before_output_is_retried_and_the_reply_arrives_once(
    resilient: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, overloaded(), Reply.text("recovered after one retry"))
    before = metric(resilient, "claude_wrapper_upstream_retries_total", reason="overloaded")
    stream = openai_client(resilient).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": tag}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "recovered after one retry"  # once: nothing was sent before the retry
    assert {c.model for c in chunks} == {MODEL}
    assert len(upstream.recorded(tag)) == 2
    after = metric(resilient, "claude_wrapper_upstream_retries_total", reason="overloaded")
    assert after == before + 1


def test_a_failure_after_output_is_not_retried(
    resilient: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("partial output then trouble", fail_after_chunks=2))
    with stream_chat(resilient.url, tag) as response:
        assert response.status_code == 200
        frames = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    payloads = [json.loads(frame) for frame in frames if frame != "[DONE]"]
    text = "".join(
        p["choices"][0]["delta"].get("content") or "" for p in payloads if p.get("choices")
    )
    assert text and "partial output then trouble".startswith(text)
    assert payloads[-1]["error"]["code"] == "upstream_overloaded"
    assert len(upstream.recorded(tag)) == 1  # the upstream was asked once


def test_the_fallback_model_answers_after_repeated_overloads(
    resilient: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, overloaded(), overloaded(), Reply.text("the fallback answered"))
    before = metric(resilient, "claude_wrapper_fallback_model_used_total")
    raw = openai_client(resilient).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": tag}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "the fallback answered"
    assert completion.model == FALLBACK
    assert raw.headers["x-claude-model"] == FALLBACK
    models = [request.body["model"] for request in upstream.recorded(tag)]
    assert models == [MODEL, MODEL, FALLBACK]
    assert metric(resilient, "claude_wrapper_fallback_model_used_total") == before + 1


def test_an_anthropic_stream_reports_the_fallback_model(
    resilient: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, overloaded(), overloaded(), Reply.text("streamed by the fallback"))
    client = anthropic.Anthropic(base_url=resilient.url, api_key="x", max_retries=0)
    with client.messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": tag}]
    ) as stream:
        events = list(stream)
        message = stream.get_final_message()
    start = next(event for event in events if event.type == "message_start")
    assert start.type == "message_start"
    assert start.message.model == FALLBACK
    assert message.model == FALLBACK
    assert message.content[0].type == "text"
    assert message.content[0].text == "streamed by the fallback"


# ------------------------------------------------------------------------------------
# The circuit breaker


@pytest.fixture(scope="module")
def fragile(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    env = {
        "WRAPPER_CIRCUIT_BREAKER_MIN_REQUESTS": "2",
        "WRAPPER_CIRCUIT_BREAKER_THRESHOLD": "0.5",
        "WRAPPER_CIRCUIT_BREAKER_OPEN_SECONDS": "3",
    }
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def breaker(server: ServerProcess) -> dict[str, Any]:
    status: dict[str, Any] = httpx.get(f"{server.url}/v1/pool/status").json()["circuit_breaker"]
    return status


def test_the_breaker_opens_on_failures_answers_503_and_closes_after_a_probe(
    fragile: ServerProcess, upstream: FakeUpstream
) -> None:
    failing, healthy = marker(), marker()
    upstream.script(failing, Reply.text("a b c d e f g", fail_after_chunks=2))
    upstream.script(healthy, Reply.text("all good again"))
    client = openai_client(fragile)
    assert breaker(fragile)["state"] == "closed"
    # A stream that fails midway counts (streams feed the breaker too)...
    with pytest.raises(openai.APIError):
        list(
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": failing}], stream=True
            )
        )
    # ...and so does a complete request that fails: 2 of 2 failed, the breaker opens.
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": failing}])
    status = breaker(fragile)
    assert status["state"] == "open"
    assert status["failures_in_window"] == 2
    assert metric(fragile, "claude_wrapper_circuit_breaker_open") == 1

    refused = httpx.post(
        fragile.url + CHAT,
        json={"model": MODEL, "messages": [{"role": "user", "content": healthy}]},
        timeout=30,
    )
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "circuit_open"
    assert 1 <= int(refused.headers["retry-after"]) <= 3  # the real time left
    assert upstream.recorded(healthy) == []  # refused without reaching the upstream

    assert wait_until(lambda: breaker(fragile)["state"] == "half_open", timeout=10)
    answer = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": healthy}]
    )
    assert answer.choices[0].message.content == "all good again"
    assert breaker(fragile)["state"] == "closed"
    assert metric(fragile, "claude_wrapper_circuit_breaker_open") == 0


# ------------------------------------------------------------------------------------
# The CPU budget


@pytest.fixture(scope="module", params=["pooled", "cold"])
def frugal(upstream: FakeUpstream, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    # A short reply costs the CLI ~0.02-0.2 CPU-seconds; streaming thousands of deltas
    # costs it far more than the 0.6 s budget.
    env = {"MAX_TURN_CPU_SECONDS": "0.6"}
    if request.param == "cold":
        env["POOL_ENABLED"] = "false"
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def no_orphans(proc: ServerProcess) -> bool:
    """No CLI child is left but the pool's own idle ones."""
    assert proc.process is not None
    children = set(cli_processes(proc.process.pid))
    if proc.env.get("POOL_ENABLED") == "false":
        return not children
    status = httpx.get(f"{proc.url}/v1/pool/status", timeout=10).json()
    return children <= set(status["pids"]) and status["processes"]["busy"] == 0


def busy_reply() -> Reply:
    return Reply.text(" ".join(["w"] * 8000), delay=0.002)


def test_a_cli_over_its_cpu_budget_is_killed_and_the_stream_ends_with_an_error(
    frugal: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, busy_reply())
    with stream_chat(frugal.url, tag) as response:
        assert response.status_code == 200
        frames = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    payloads = [json.loads(frame) for frame in frames if frame != "[DONE]"]
    assert payloads[-1]["error"]["code"] == "cpu_budget_exceeded"
    assert 2 < len(payloads) < 8000  # output had started; the reply was cut short
    assert "[DONE]" not in frames
    assert wait_until(lambda: upstream.active == 0, timeout=10)  # the CLI stopped generating
    assert wait_until(lambda: no_orphans(frugal), timeout=10)
    assert "backend.cpu_budget_exceeded" in frugal.log()


def test_a_complete_request_over_the_budget_is_a_502(
    frugal: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, busy_reply())
    response = httpx.post(
        frugal.url + CHAT, json={"messages": [{"role": "user", "content": tag}]}, timeout=60
    )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "cpu_budget_exceeded"
    assert wait_until(lambda: upstream.active == 0, timeout=10)
    assert wait_until(lambda: no_orphans(frugal), timeout=10)
    # A normal turn on the same server is well within the budget.
    answer = openai_client(frugal).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": marker()}]
    )
    assert answer.choices[0].message.content
