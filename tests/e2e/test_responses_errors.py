"""Every error a Responses client can meet, in OpenAI's error shape with the right status."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

RESPONSES = "/v1/responses"
MODEL = "claude-sonnet-4-6"


def marker() -> str:
    return f"Q{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=120) as client:
        yield client


def openai_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert "Traceback" not in response.text
    error: dict[str, object] = body["error"]
    return error


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {
                "input": "hi",
                "tools": [{"type": "namespace", "name": "n", "tools": [{"type": "mcp"}]}],
            },
            "tools[0].tools[0].type",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": "hi", "background": True}, "background"),
        ({"model": MODEL}, "input"),
    ],
)
def test_bad_requests_are_400_naming_the_field(
    server: ServerProcess, body: dict[str, object], param: str
) -> None:
    error = openai_error(httpx.post(server.url + RESPONSES, json=body), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


def test_a_hosted_tool_is_left_out_and_named_not_refused(server: ServerProcess) -> None:
    body = {"input": "hi", "tools": [{"type": "web_search"}], "store": False}
    response = httpx.post(server.url + RESPONSES, json=body, timeout=120)
    assert response.status_code == 200
    assert response.headers["x-ignored-fields"] == "tools[0]"
    assert response.json()["tools"] == []


def test_unknown_ids_are_404(client: openai.OpenAI, server: ServerProcess) -> None:
    for method in ("GET", "DELETE"):
        error = openai_error(httpx.request(method, server.url + RESPONSES + "/resp_nope"), 404)
        assert error["type"] == "invalid_request_error"
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model=MODEL, input="hi", previous_response_id="resp_nope")
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["param"] == "previous_response_id"


def test_wrong_method_is_405(server: ServerProcess) -> None:
    response = httpx.put(server.url + RESPONSES + "/resp_x")
    openai_error(response, 405)
    assert response.headers["allow"] == "DELETE, GET"


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (429, "rate_limit_error", 429),
        (529, "overloaded_error", 503),
        (500, "api_error", 502),
    ],
)
def test_upstream_failures_map_to_statuses(
    server: ServerProcess, upstream: FakeUpstream, status: int, error_type: str, expected: int
) -> None:
    tag = marker()
    upstream.script(tag, Reply.error(status, error_type))
    response = httpx.post(server.url + RESPONSES, json={"input": tag}, timeout=120)
    openai_error(response, expected)
    if expected in (429, 503):
        assert response.headers.get("retry-after")


def test_failure_before_output_in_a_stream_keeps_its_status(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.error(429, "rate_limit_error"))
    with pytest.raises(openai.RateLimitError):
        list(client.responses.create(model=MODEL, input=tag, stream=True))


def test_failure_after_the_stream_began_is_an_error_then_response_failed(
    server: ServerProcess, client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("partial output then trouble", fail_after_chunks=2))
    frames: list[tuple[str, dict[str, object]]] = []
    with httpx.stream(
        "POST", server.url + RESPONSES, json={"input": tag, "stream": True}, timeout=120
    ) as response:
        assert response.status_code == 200
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                frames.append((name, json.loads(line[6:])))
    names = [n for n, _ in frames]
    assert names[0] == "response.created"
    assert "response.output_text.delta" in names
    assert names[-2:] == ["error", "response.failed"]
    assert [d["sequence_number"] for _, d in frames] == list(range(len(frames)))
    error = frames[-2][1]
    assert set(error) == {"type", "code", "message", "param", "sequence_number"}
    failed = frames[-1][1]["response"]
    assert isinstance(failed, dict)
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"

    # The official client sees the same ending.
    events = list(client.responses.create(model=MODEL, input=tag, stream=True))
    assert [e.type for e in events][-2:] == ["error", "response.failed"]
