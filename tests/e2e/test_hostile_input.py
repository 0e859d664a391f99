"""Inputs an attacker (or an ordinary agent) sends that once broke the server.

Large system prompts, NUL bytes, oversized model names and deeply nested JSON each
get an answer or a 400 in the dialect's own shape, never a 500 or a traceback.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply
from wrapper.http.request import MAX_JSON_DEPTH

pytestmark = pytest.mark.e2e

MODEL = "claude-sonnet-4-6"
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
RESPONSES = "/v1/responses"
# Past Linux's 128 KiB limit on one command-line argument.
BIG = 300_000


def marker() -> str:
    return f"H{uuid.uuid4().hex[:10]}"


def chat_body(system: str, user: str, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return {"model": MODEL, "messages": messages} | extra


def assert_clean_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text[:2000]
    assert "Traceback" not in response.text
    payload = response.json()
    error = payload["error"]
    message: str = error["message"]
    return message


def test_a_system_prompt_past_the_argument_limit_reaches_the_model(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("big prompt read"), Reply.text("big prompt read again"))
    system = f"{tag} " + "You are a careful agent. " * (BIG // 25)
    for _ in range(2):  # the second turn may reuse the warm process of the first
        response = httpx.post(server.url + CHAT, json=chat_body(system, "hi"), timeout=60)
        assert response.status_code == 200, response.text[:2000]
    recorded = upstream.recorded(tag)
    assert len(recorded) == 2
    for request in recorded:
        assert system in request.system_text()


def test_large_instructions_and_system_reach_the_model_on_every_api(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("one"), Reply.text("two"))
    system = f"{tag} " + "Rules. " * (BIG // 7)
    responses = httpx.post(
        server.url + RESPONSES,
        json={"model": MODEL, "instructions": system, "input": "hi"},
        timeout=60,
    )
    assert responses.status_code == 200, responses.text[:2000]
    messages = httpx.post(
        server.url + MESSAGES,
        json={
            "model": MODEL,
            "max_tokens": 50,
            "system": system,
            "messages": [{"role": "user", "content": "hi"}],
        },
        timeout=60,
    )
    assert messages.status_code == 200, messages.text[:2000]
    assert all(system in request.system_text() for request in upstream.recorded(tag))


def test_nul_bytes_in_text_are_answered_not_500(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("nul ok"))
    body = chat_body(f"{tag} system\x00with nul", "user\x00text")
    response = httpx.post(server.url + CHAT, json=body, timeout=60)
    assert response.status_code == 200, response.text[:2000]
    assert "system\x00with nul" in upstream.recorded(tag)[-1].system_text()


@pytest.mark.parametrize(
    ("path", "body", "status_field"),
    [
        (CHAT, {"model": "claude\x00x", "messages": [{"role": "user", "content": "hi"}]}, "model"),
        (
            MESSAGES,
            {"model": "m" * 5000, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
            "model",
        ),
        (RESPONSES, {"model": "claude\nx", "input": "hi"}, "model"),
    ],
)
def test_a_model_name_no_command_line_can_carry_is_a_400_naming_it(
    server: ServerProcess, path: str, body: dict[str, Any], status_field: str
) -> None:
    message = assert_clean_error(httpx.post(server.url + path, json=body, timeout=60), 400)
    assert status_field in message


def test_an_output_schema_past_its_limit_is_a_400_naming_the_field(server: ServerProcess) -> None:
    schema = {
        "type": "object",
        "properties": {f"p{i}_{'x' * 40}": {"type": "string"} for i in range(4000)},
    }
    body = chat_body(
        "s",
        "hi",
        response_format={"type": "json_schema", "json_schema": {"name": "big", "schema": schema}},
    )
    response = httpx.post(server.url + CHAT, json=body, timeout=60)
    message = assert_clean_error(response, 400)
    assert "response_format" in message or response.json()["error"]["param"] == (
        "response_format.json_schema.schema"
    )


DEEP = b"[" * 2000 + b"]" * 2000


@pytest.mark.parametrize(
    ("path", "anthropic_shape"),
    [
        (CHAT, False),
        ("/v1/compatibility", False),
        (RESPONSES, False),
        (MESSAGES, True),
        ("/v1/messages/count_tokens", True),
    ],
)
def test_deeply_nested_json_is_a_400_in_the_dialect_shape(
    server: ServerProcess, path: str, anthropic_shape: bool
) -> None:
    raw = b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "metadata": '
    response = httpx.post(
        server.url + path,
        content=raw + DEEP + b"}",
        headers={"content-type": "application/json"},
        timeout=60,
    )
    message = assert_clean_error(response, 400)
    assert f"deeper than {MAX_JSON_DEPTH}" in message
    payload = response.json()
    if anthropic_shape:
        assert payload["type"] == "error"
        assert payload["error"]["type"] == "invalid_request_error"
    else:
        assert set(payload["error"]) == {"message", "type", "param", "code"}


def test_a_body_sent_too_slowly_is_a_408_and_the_connection_closes(
    upstream: FakeUpstream,
) -> None:
    with ServerProcess(upstream.url, env={"BODY_TIMEOUT_SECONDS": "1"}) as proc:
        head = (
            "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", proc.port), timeout=10) as sock:
            sock.sendall(head.encode())
            received = b""
            while not received.rstrip().endswith(b"}") and time.monotonic() - started < 15:
                try:
                    sock.sendall(b" ")  # one byte now and then: never the whole body
                except OSError:
                    break
                sock.settimeout(0.3)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                received += chunk
            elapsed = time.monotonic() - started
        assert received.startswith(b"HTTP/1.1 408"), received[:300]
        payload = json.loads(received.split(b"\r\n\r\n", 1)[1])
        assert payload["type"] == "error"
        assert "BODY_TIMEOUT_SECONDS" in payload["error"]["message"]
        assert elapsed < 8
        # Other requests kept being answered.
        assert httpx.get(proc.url + "/health").status_code == 200
