"""Every error an Anthropic client can meet, in Anthropic's envelope with Anthropic's statuses."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

MESSAGES = "/v1/messages"
MODEL = "claude-sonnet-4-6"
KEY = "s3cret-anthropic-key"


def marker() -> str:
    return f"X{uuid.uuid4().hex[:10]}"


def body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": text}]} | (
        extra
    )


def assert_anthropic_error(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["type"] == "error"
    assert set(payload["error"]) == {"type", "message"}
    assert payload["error"]["type"] == error_type
    assert payload["request_id"] == response.headers["request-id"]
    assert "Traceback" not in response.text
    message: str = payload["error"]["message"]
    assert message
    return message


@pytest.fixture
def client(server: ServerProcess) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0) as client:
        yield client


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    name = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: ") :])))
    return events


def test_malformed_json_is_400(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + MESSAGES,
        content=b'{"model": "x", "messages": [',
        headers={"content-type": "application/json"},
    )
    assert_anthropic_error(response, 400, "invalid_request_error")


def test_schema_violation_is_400_naming_the_field(
    server: ServerProcess, client: anthropic.Anthropic
) -> None:
    response = httpx.post(
        server.url + MESSAGES,
        json={"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "txt"}]}]},
    )
    message = assert_anthropic_error(response, 400, "invalid_request_error")
    assert "$.messages[0].content[0].type" in message
    with pytest.raises(anthropic.BadRequestError, match=r"thinking\.budget_tokens"):
        client.messages.create(
            model=MODEL,
            max_tokens=5000,
            thinking={"type": "enabled", "budget_tokens": 10},
            messages=[{"role": "user", "content": "hi"}],
        )


def test_unknown_route_is_404_and_wrong_method_405(server: ServerProcess) -> None:
    assert_anthropic_error(
        httpx.post(server.url + "/v1/messages/nope", json={}), 404, "not_found_error"
    )
    response = httpx.get(server.url + MESSAGES)
    assert_anthropic_error(response, 405, "invalid_request_error")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("status", "error_type", "expected", "client_error"),
    [
        (429, "rate_limit_error", 429, anthropic.RateLimitError),
        (529, "overloaded_error", 529, anthropic.InternalServerError),
    ],
)
def test_upstream_rate_limit_and_overload(
    client: anthropic.Anthropic,
    upstream: FakeUpstream,
    status: int,
    error_type: str,
    expected: int,
    client_error: type[anthropic.APIStatusError],
) -> None:
    tag = marker()
    upstream.script(tag, Reply.error(status, error_type))
    with pytest.raises(client_error) as caught:
        client.messages.create(
            model=MODEL, max_tokens=50, messages=[{"role": "user", "content": tag}]
        )
    error = caught.value
    assert error.status_code == expected
    payload: Any = error.body
    assert payload["error"]["type"] == error_type
    assert error.response.headers.get("retry-after")
    assert error.request_id == error.response.headers["request-id"]


def test_failure_before_output_in_a_stream_keeps_its_status(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.error(529, "overloaded_error"))
    with (
        pytest.raises(anthropic.InternalServerError) as caught,
        client.messages.stream(
            model=MODEL, max_tokens=50, messages=[{"role": "user", "content": tag}]
        ) as stream,
    ):
        stream.get_final_message()
    assert caught.value.status_code == 529


def test_failure_after_the_stream_began_is_an_error_event(
    server: ServerProcess, client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("partial output then trouble", fail_after_chunks=2))
    with httpx.stream(
        "POST", server.url + MESSAGES, json=body(tag, stream=True), timeout=60
    ) as response:
        assert response.status_code == 200
        events = sse_events(response)
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert "content_block_delta" in names
    assert "message_stop" not in names
    name, payload = events[-1]
    assert name == "error"
    assert payload["type"] == "error"
    assert set(payload["error"]) == {"type", "message"}
    assert payload["error"]["type"] == "overloaded_error"
    with (
        pytest.raises(anthropic.APIStatusError, match="overloaded_error"),
        client.messages.stream(
            model=MODEL, max_tokens=50, messages=[{"role": "user", "content": tag}]
        ) as stream,
    ):
        stream.get_final_message()


@pytest.fixture(scope="module")
def secured(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    env = {"API_KEY": KEY, "MAX_REQUEST_SIZE": "4000", "SSE_PING_INTERVAL_SECONDS": "0.2"}
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


class TestSecured:
    def test_missing_or_wrong_key_is_401(self, secured: ServerProcess) -> None:
        url = secured.url + MESSAGES
        assert_anthropic_error(httpx.post(url, json=body("hi")), 401, "authentication_error")
        wrong_key = httpx.post(url, json=body("hi"), headers={"x-api-key": "nope"})
        assert_anthropic_error(wrong_key, 401, "authentication_error")
        wrong_bearer = httpx.post(url, json=body("hi"), headers={"authorization": "Bearer nope"})
        assert_anthropic_error(wrong_bearer, 401, "authentication_error")
        counted = httpx.post(url + "/count_tokens", json=body("hi"))
        assert_anthropic_error(counted, 401, "authentication_error")

    def test_x_api_key_and_bearer_are_accepted(self, secured: ServerProcess) -> None:
        with anthropic.Anthropic(base_url=secured.url, api_key=KEY, max_retries=0) as by_key:
            reply = by_key.messages.create(
                model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "hello there"}]
            )
        assert reply.content[0].type == "text"
        assert reply.content[0].text == "You said: hello there"
        with anthropic.Anthropic(base_url=secured.url, auth_token=KEY, max_retries=0) as by_bearer:
            counted = by_bearer.messages.count_tokens(
                model=MODEL, messages=[{"role": "user", "content": "count"}]
            )
        assert counted.input_tokens > 0

    def test_body_over_the_limit_is_413(self, secured: ServerProcess) -> None:
        response = httpx.post(
            secured.url + MESSAGES, json=body("x" * 5000), headers={"x-api-key": KEY}
        )
        assert_anthropic_error(response, 413, "request_too_large")

    def test_idle_stream_sends_anthropic_ping_events(
        self, secured: ServerProcess, upstream: FakeUpstream
    ) -> None:
        tag = marker()
        upstream.script(tag, Reply.text("slow words", delay=0.8))
        with httpx.stream(
            "POST",
            secured.url + MESSAGES,
            json=body(tag, stream=True),
            headers={"x-api-key": KEY},
            timeout=60,
        ) as response:
            assert response.status_code == 200
            events = sse_events(response)
        pings = [payload for name, payload in events if name == "ping"]
        assert pings
        assert all(payload == {"type": "ping"} for payload in pings)
        text = "".join(
            payload["delta"]["text"] for name, payload in events if name == "content_block_delta"
        )
        assert text == "slow words"
        assert events[-1][0] == "message_stop"
