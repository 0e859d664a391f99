"""Every error a chat client can meet, in OpenAI's error shape with the right status."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.e2e.harness import ServerProcess, stream_chat
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"


def marker() -> str:
    return f"E{uuid.uuid4().hex[:10]}"


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, object] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.text
    return error


def test_malformed_json_is_400(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + CHAT,
        content=b'{"model": "x", "messages": [',
        headers={"content-type": "application/json"},
    )
    error = assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error"


def test_schema_violation_is_400_naming_the_field_path(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + CHAT, json={"model": "x", "messages": [{"role": "user", "content": 5}]}
    )
    error = assert_openai_error(response, 400)
    assert error["param"] == "messages[0].content"
    assert "$.messages[0].content" in str(error["message"])


def test_unknown_role_is_400(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + CHAT, json={"messages": [{"role": "wizard", "content": "hi"}]}
    )
    assert_openai_error(response, 400)


def test_unknown_route_is_404(server: ServerProcess) -> None:
    assert_openai_error(httpx.get(server.url + "/v1/nothing-here"), 404)


def test_wrong_method_is_405_with_allow(server: ServerProcess) -> None:
    response = httpx.get(server.url + CHAT)
    assert_openai_error(response, 405)
    assert response.headers["allow"] == "POST"


def test_body_over_the_limit_is_413(upstream: FakeUpstream) -> None:
    with ServerProcess(upstream.url, env={"MAX_REQUEST_SIZE": "2000"}) as proc:
        big = {"messages": [{"role": "user", "content": "x" * 5000}]}
        assert_openai_error(httpx.post(proc.url + CHAT, json=big), 413)

        def chunks() -> Iterator[bytes]:
            yield b'{"messages": [{"role": "user", "content": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}]}'

        # A chunked upload has no Content-Length: the limit counts received bytes.
        chunked = httpx.post(
            proc.url + CHAT, content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in chunked.request.headers
        assert_openai_error(chunked, 413)


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (401, "authentication_error", 401),
        (429, "rate_limit_error", 429),
        (529, "overloaded_error", 503),
        (500, "api_error", 502),
        (400, "invalid_request_error", 400),
    ],
)
def test_upstream_failures_map_to_statuses(
    server: ServerProcess, upstream: FakeUpstream, status: int, error_type: str, expected: int
) -> None:
    tag = marker()
    upstream.script(tag, Reply.error(status, error_type))
    response = httpx.post(
        server.url + CHAT, json={"messages": [{"role": "user", "content": tag}]}, timeout=60
    )
    error = assert_openai_error(response, expected)
    if expected == 401:
        assert error["type"] == "authentication_error"
    if expected in (429, 503):
        assert response.headers.get("retry-after")


def test_upstream_failure_before_output_in_a_stream_keeps_its_status(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.error(429, "rate_limit_error"))
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.RateLimitError):
        list(
            client.chat.completions.create(
                model="claude-sonnet-4-6", messages=[{"role": "user", "content": tag}], stream=True
            )
        )


def test_failure_after_the_stream_started_is_an_in_stream_error_frame(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("partial output then trouble", fail_after_chunks=2))
    frames: list[str] = []
    with stream_chat(server.url, tag) as response:
        assert response.status_code == 200
        frames = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    payloads = [json.loads(f) for f in frames if f != "[DONE]"]
    assert "error" in payloads[-1]
    assert set(payloads[-1]["error"]) == {"message", "type", "param", "code"}
    assert any(p.get("choices") and p["choices"][0]["delta"].get("content") for p in payloads)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIError):
        list(
            client.chat.completions.create(
                model="claude-sonnet-4-6", messages=[{"role": "user", "content": tag}], stream=True
            )
        )


def test_logprobs_are_rejected_clearly(server: ServerProcess) -> None:
    response = httpx.post(
        server.url + CHAT, json={"logprobs": True, "messages": [{"role": "user", "content": "hi"}]}
    )
    error = assert_openai_error(response, 400)
    assert error["param"] == "logprobs"


@pytest.fixture(scope="module")
def secured(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    with ServerProcess(upstream.url, env={"API_KEY": "s3cret-key"}) as proc:
        yield proc


class TestApiKey:
    def test_missing_or_wrong_key_is_401(self, secured: ServerProcess) -> None:
        body = {"messages": [{"role": "user", "content": "hi"}]}
        assert_openai_error(httpx.post(secured.url + CHAT, json=body), 401)
        wrong = httpx.post(secured.url + CHAT, json=body, headers={"authorization": "Bearer nope"})
        assert_openai_error(wrong, 401)
        assert_openai_error(httpx.get(secured.url + "/v1/models"), 401)

    def test_bearer_and_x_api_key_are_accepted(
        self, secured: ServerProcess, upstream: FakeUpstream
    ) -> None:
        client = openai.OpenAI(base_url=secured.url + "/v1", api_key="s3cret-key", max_retries=0)
        reply = client.chat.completions.create(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hello there"}]
        )
        assert reply.choices[0].message.content == "You said: hello there"
        listed = httpx.get(secured.url + "/v1/models", headers={"x-api-key": "s3cret-key"})
        assert listed.status_code == 200

    def test_health_needs_no_key(self, secured: ServerProcess) -> None:
        assert httpx.get(secured.url + "/health").status_code == 200

    def test_the_client_key_never_reaches_the_cli(
        self, secured: ServerProcess, upstream: FakeUpstream
    ) -> None:
        tag = marker()
        httpx.post(
            secured.url + CHAT,
            json={"messages": [{"role": "user", "content": tag}]},
            headers={"authorization": "Bearer s3cret-key"},
            timeout=60,
        )
        request = upstream.recorded(tag)[-1]
        assert "s3cret-key" not in json.dumps(request.headers)
        assert "s3cret-key" not in request.text
