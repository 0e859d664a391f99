"""Metrics, cost header, response cache, debug echo and the deep health probe, end to end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageParam
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply
from wrapper.monitoring.deep_health import PROBE_PROMPT

pytestmark = pytest.mark.e2e

KEY = "ops-test-key"
AUTH = {"authorization": f"Bearer {KEY}"}
MODEL = "claude-sonnet-4-6"


@pytest.fixture(scope="module")
def ops(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    env = {
        "API_KEY": KEY,
        "REQUEST_CACHE_ENABLED": "true",
        "VERBOSE": "true",
        "DEEP_HEALTH_CACHE_SECONDS": "300",
    }
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def marker() -> str:
    return f"O{uuid.uuid4().hex[:10]}"


def metric(server: ServerProcess, name: str, **labels: str) -> float:
    text = httpx.get(f"{server.url}/metrics", headers=AUTH).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)


def test_metrics_count_requests_tokens_and_cost(ops: ServerProcess, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("counted reply", usage={"input_tokens": 21}))
    before_in = metric(ops, "claude_wrapper_tokens_total", model=MODEL, kind="input")
    before_cost = metric(ops, "claude_wrapper_cost_usd_total", model=MODEL)
    before_chat = metric(
        ops, "claude_wrapper_http_requests_total", route="chat", method="POST", status="200"
    )
    raw = client(ops).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": tag}]
    )
    completion = raw.parse()
    assert completion.usage is not None
    cost = float(raw.headers["x-claude-cost-usd"])
    assert cost > 0
    assert metric(ops, "claude_wrapper_tokens_total", model=MODEL, kind="input") == (
        before_in + completion.usage.prompt_tokens
    )
    assert metric(ops, "claude_wrapper_cost_usd_total", model=MODEL) == pytest.approx(
        before_cost + cost, abs=1e-6
    )
    assert (
        metric(ops, "claude_wrapper_http_requests_total", route="chat", method="POST", status="200")
        == before_chat + 1
    )
    assert metric(ops, "claude_wrapper_time_to_first_token_seconds_count") >= 1
    assert metric(ops, "claude_wrapper_http_request_duration_seconds_count", route="chat") >= 1

    # A stream counts as active while it runs, and no longer afterwards.
    stream = client(ops).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": marker()}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert metric(ops, "claude_wrapper_active_streams") == 0
    response = httpx.get(f"{ops.url}/metrics", headers=AUTH)
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert httpx.get(f"{ops.url}/metrics").status_code == 401


def test_cache_hits_never_reach_claude(ops: ServerProcess, upstream: FakeUpstream) -> None:
    tag = marker()
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": f"{tag} what is 2+2?"}
    ]
    sdk = client(ops)
    opt_in = {"X-Enable-Cache": "true"}
    first = sdk.chat.completions.with_raw_response.create(
        model=MODEL, messages=messages, extra_headers=opt_in
    )
    second = sdk.chat.completions.with_raw_response.create(
        model=MODEL, messages=messages, extra_headers=opt_in
    )
    assert first.headers["x-cache"] == "miss"
    assert second.headers["x-cache"] == "hit"
    assert "x-claude-cost-usd" not in second.headers  # nothing was spent
    one, two = first.parse(), second.parse()
    assert one.choices[0].message.content == two.choices[0].message.content
    assert one.id != two.id
    assert len(upstream.recorded(tag)) == 1
    # Without the header the request runs again.
    sdk.chat.completions.create(model=MODEL, messages=messages)
    assert len(upstream.recorded(tag)) == 2
    stats = httpx.get(f"{ops.url}/v1/cache/stats", headers=AUTH).json()
    assert stats["enabled"] is True
    assert stats["hits"] >= 1
    cleared = httpx.post(f"{ops.url}/v1/cache/clear", headers=AUTH).json()
    assert cleared["entries_cleared"] >= 1
    sdk.chat.completions.create(model=MODEL, messages=messages, extra_headers=opt_in)
    assert len(upstream.recorded(tag)) == 3


def test_errors_are_not_cached(ops: ServerProcess, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.error(500, "api_error"), Reply.text("recovered"))
    sdk = client(ops)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": tag}]
    with pytest.raises(openai.APIStatusError):
        sdk.chat.completions.create(
            model=MODEL, messages=messages, extra_headers={"X-Enable-Cache": "1"}
        )
    answer = sdk.chat.completions.create(
        model=MODEL, messages=messages, extra_headers={"X-Enable-Cache": "1"}
    )
    assert answer.choices[0].message.content == "recovered"


def test_debug_echo_is_gated_and_hides_credentials(
    ops: ServerProcess, server: ServerProcess
) -> None:
    assert httpx.post(f"{server.url}/v1/debug/request", json={}).status_code == 404
    response = httpx.post(
        f"{ops.url}/v1/debug/request?x=1",
        json={"model": "m", "messages": []},
        headers={**AUTH, "x-api-key": KEY, "x-custom": "visible"},
    )
    assert response.status_code == 200
    info = response.json()["debug_info"]
    assert info["body"] == {"model": "m", "messages": []}
    assert info["query"] == {"x": "1"}
    assert info["headers"]["x-custom"] == "visible"
    assert "authorization" not in info["headers"]
    assert "x-api-key" not in info["headers"]
    assert KEY not in response.text


def test_deep_health_needs_the_key_and_is_cached(
    ops: ServerProcess, upstream: FakeUpstream
) -> None:
    assert httpx.get(f"{ops.url}/healthz/deep").status_code == 401
    before = len(upstream.recorded(PROBE_PROMPT))
    first = httpx.get(f"{ops.url}/healthz/deep", headers=AUTH, timeout=60)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "healthy"
    assert body["probe_ok"] is True
    assert body["cached"] is False
    second = httpx.get(f"{ops.url}/healthz/deep", headers=AUTH, timeout=60).json()
    assert second["cached"] is True
    assert second["checked_at"] == body["checked_at"]
    assert len(upstream.recorded(PROBE_PROMPT)) == before + 1


def test_anthropic_messages_are_cached_too(ops: ServerProcess, upstream: FakeUpstream) -> None:
    tag = marker()
    sdk = anthropic.Anthropic(base_url=ops.url, api_key=KEY, max_retries=0)
    messages: list[MessageParam] = [{"role": "user", "content": tag}]
    opt_in = {"X-Enable-Cache": "yes"}
    first = sdk.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=messages, extra_headers=opt_in
    )
    second = sdk.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=messages, extra_headers=opt_in
    )
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.parse().content == second.parse().content
    assert first.parse().id != second.parse().id
    assert float(first.headers["x-claude-cost-usd"]) > 0
    assert len(upstream.recorded(tag)) == 1
