"""A server without API_KEY cannot be used by a web page in the user's browser.

What a page can send without a CORS preflight (a ``text/plain`` or body-only POST)
is refused with 415, a request for a name that is not loopback (DNS rebinding)
with 403, and no origin is told it may read the answers. With a key, or for the
hosts the operator lists, the API answers as before.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
BODY = {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES_BODY = {**BODY, "max_tokens": 20}


@pytest.fixture(scope="module")
def listed_server(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    with ServerProcess(upstream.url, env={"ALLOWED_HOSTS": "wrapper.internal"}) as proc:
        yield proc


@pytest.fixture(scope="module")
def keyed_server(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    with ServerProcess(upstream.url, env={"API_KEY": "browser-rules-key"}) as proc:
        yield proc


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        (CHAT, "text/plain", BODY),
        (CHAT, None, BODY),
        (CHAT, "application/x-www-form-urlencoded", BODY),
        ("/v1/messages", "text/plain;charset=UTF-8", MESSAGES_BODY),
        ("/v1/responses", "multipart/form-data; boundary=x", {"input": "hi"}),
    ],
)
def test_a_body_a_browser_sends_without_preflight_is_415_in_the_dialect_shape(
    server: ServerProcess, path: str, content_type: str | None, body: dict[str, object]
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    response = httpx.post(server.url + path, content=json.dumps(body), headers=headers)
    assert response.status_code == 415, response.text
    payload = response.json()
    if path.startswith("/v1/messages"):
        assert payload["type"] == "error"
        assert payload["error"]["type"] == "invalid_request_error"
    else:
        assert payload["error"]["code"] == "unsupported_media_type"


def test_a_foreign_host_is_403_but_health_still_answers(server: ServerProcess) -> None:
    for path, method in ((CHAT, "POST"), ("/v1/models", "GET")):
        response = httpx.request(
            method, server.url + path, json=BODY, headers={"host": "evil.example:8000"}
        )
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "host_not_allowed"
    assert httpx.get(server.url + "/health", headers={"host": "evil.example"}).status_code == 200
    for host in ("localhost", f"localhost:{server.port}", "127.0.0.1"):
        assert httpx.get(server.url + "/v1/models", headers={"host": host}).status_code == 200


def test_no_origin_may_read_answers_without_a_key(server: ServerProcess) -> None:
    origin = {"origin": "https://evil.example"}
    response = httpx.get(server.url + "/v1/models", headers=origin)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = httpx.options(
        server.url + CHAT,
        headers={**origin, "access-control-request-method": "POST",
                 "access-control-request-headers": "content-type"},
    )  # fmt: skip
    assert "access-control-allow-origin" not in preflight.headers


def test_a_listed_host_is_answered(listed_server: ServerProcess, upstream: FakeUpstream) -> None:
    tag = f"B{uuid.uuid4().hex[:8]}"
    upstream.script(tag, Reply.text("listed ok"))
    body = {**BODY, "messages": [{"role": "user", "content": tag}]}
    response = httpx.post(listed_server.url + CHAT, json=body, headers={"host": "wrapper.internal"})
    assert response.status_code == 200, response.text
    other = httpx.post(listed_server.url + CHAT, json=body, headers={"host": "other.internal"})
    assert other.status_code == 403


def test_with_a_key_the_old_defaults_hold(keyed_server: ServerProcess) -> None:
    headers = {"authorization": "Bearer browser-rules-key", "origin": "https://app.example"}
    response = httpx.get(
        keyed_server.url + "/v1/models", headers={**headers, "host": "wrapper.example"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
