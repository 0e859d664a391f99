"""A JSON-schema request whose structured output never comes is a failure on every API.

The fake model answers in plain text and never calls the ``StructuredOutput``
tool: the request fails with ``structured_output_failed`` (a 502 before any
output; the dialect's in-stream error once a stream has begun), never a 200 with
text that is not the JSON asked for.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
    "additionalProperties": False,
}
CODE = "structured_output_failed"


def plain_text_for(upstream: FakeUpstream) -> str:
    tag = f"S{uuid.uuid4().hex[:10]}"
    upstream.script(tag, Reply.text("Here is some prose, not JSON."))
    return tag


def body_of(api: str, tag: str, stream: bool) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any]
    if api == "chat":
        fmt = {"type": "json_schema", "json_schema": {"name": "p", "schema": SCHEMA}}
        body = {"messages": [{"role": "user", "content": tag}], "response_format": fmt}
        return "/v1/chat/completions", {**body, "stream": stream}
    if api == "responses":
        fmt = {"type": "json_schema", "name": "p", "schema": SCHEMA}
        return "/v1/responses", {"input": tag, "text": {"format": fmt}, "stream": stream}
    body = {
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": tag}],
        "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}},
    }
    return "/v1/messages", {**body, "stream": stream}


def failure_of(response: httpx.Response) -> str:
    """The error code (or, for Anthropic, the message) the failed request carried."""
    if response.status_code != 200:
        assert response.status_code == 502
        error = response.json()["error"]
        return str(error.get("code") or error.get("message"))
    assert "text/event-stream" in response.headers["content-type"]
    for line in response.text.splitlines():
        if not line.startswith("data:"):
            continue
        data = json.loads(line.removeprefix("data:").strip())
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            return str(error.get("code") or error.get("message"))
        if isinstance(data, dict) and data.get("type") == "error":
            return str(data.get("code") or data.get("message"))
    raise AssertionError(f"no error in the stream:\n{response.text[-2000:]}")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("api", ["chat", "responses", "messages"])
def test_plain_text_instead_of_the_schema_is_a_structured_output_failure(
    server: ServerProcess, upstream: FakeUpstream, api: str, stream: bool
) -> None:
    path, body = body_of(api, plain_text_for(upstream), stream)
    response = httpx.post(server.url + path, json=body, timeout=120)
    outcome = failure_of(response)
    if api == "messages":
        assert "JSON schema" in outcome
    else:
        assert outcome == CODE
    assert "prose" not in response.text
