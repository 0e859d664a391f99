"""The Anthropic routes in-process: count_tokens without a counter, ids, pings, stream errors."""

from __future__ import annotations

import json

import anyio
import pytest

from tests.asgi.driver import Exchange, json_body, make_app, quiet_settings, started
from tests.fakes.backend import Call, FakeBackend, text_events
from wrapper.errors import UpstreamOverloadedError

pytestmark = pytest.mark.anyio

HELLO = json_body({"max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]})
STREAM = json_body(
    {"max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
)


def events(exchange: Exchange) -> list[tuple[str, dict[str, object]]]:
    parsed: list[tuple[str, dict[str, object]]] = []
    for block in exchange.body.decode().split("\n\n"):
        lines = block.split("\n")
        if lines[0].startswith("event: "):
            data = "\n".join(line[6:] for line in lines[1:] if line.startswith("data: "))
            parsed.append((lines[0][7:], json.loads(data)))
    return parsed


async def test_count_tokens_without_an_api_key_is_501_never_an_estimate() -> None:
    app, _ = make_app(FakeBackend(text_events("x")))
    async with started(app):
        exchange = await Exchange("POST", "/v1/messages/count_tokens", body=HELLO).run(app)
    assert exchange.status == 501
    body = exchange.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert "ANTHROPIC_API_KEY" in body["error"]["message"]
    assert exchange.headers["x-should-retry"] == "false"
    assert exchange.headers["request-id"] == body["request_id"]


async def test_unknown_anthropic_route_carries_request_id() -> None:
    app, _ = make_app(FakeBackend(text_events("x")))
    async with started(app):
        exchange = await Exchange("POST", "/v1/messages/nope", body=HELLO).run(app)
    assert exchange.status == 404
    assert exchange.json()["error"]["type"] == "not_found_error"
    assert exchange.headers["request-id"] == exchange.json()["request_id"]


async def test_idle_stream_sends_named_ping_events_not_comments() -> None:
    gate = anyio.Event()
    script = text_events("Hello", " there")
    backend = FakeBackend([*script[:3], Call(gate.wait), *script[3:]])
    app, _ = make_app(backend, quiet_settings(ping_interval_s=0.02))
    exchange = Exchange("POST", "/v1/messages", body=STREAM)
    async with started(app), anyio.create_task_group() as group:
        group.start_soon(exchange.run, app)
        await exchange.wait_for(lambda e: e.body.count(b"event: ping\n") >= 2)
        gate.set()
    assert exchange.pings() == 0
    names = [name for name, _ in events(exchange)]
    assert names.count("ping") >= 2
    assert [name for name in names if name != "ping"][-2:] == ["message_delta", "message_stop"]
    assert ("ping", {"type": "ping"}) in events(exchange)


async def test_stream_errors_before_and_after_output() -> None:
    before = FakeBackend([UpstreamOverloadedError("busy", retry_after=3)])
    app, _ = make_app(before)
    async with started(app):
        exchange = await Exchange("POST", "/v1/messages", body=STREAM).run(app)
    assert exchange.status == 529
    assert exchange.json()["error"]["type"] == "overloaded_error"

    after = FakeBackend([*text_events("partial")[:3], UpstreamOverloadedError("busy")])
    app, _ = make_app(after)
    async with started(app):
        exchange = await Exchange("POST", "/v1/messages", body=STREAM).run(app)
    assert exchange.status == 200
    parsed = events(exchange)
    assert [name for name, _ in parsed][:3] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
    ]
    name, payload = parsed[-1]
    assert name == "error"
    assert payload["type"] == "error"
    assert payload["error"] == {"type": "overloaded_error", "message": "busy"}


@pytest.mark.parametrize("body", [HELLO, STREAM], ids=["whole", "stream"])
async def test_what_had_no_effect_is_named_in_x_ignored_fields(body: bytes) -> None:
    app, _ = make_app(FakeBackend(text_events("ok")))
    request = json.loads(body)
    request["context_management"] = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    beta = ("anthropic-beta", "context-management-2025-06-27,thinking-token-count-2026-05-13")
    async with started(app):
        exchange = await Exchange(
            "POST", "/v1/messages", body=json_body(request), headers=[beta]
        ).run(app)
    assert exchange.status == 200
    assert exchange.headers["x-ignored-fields"] == (
        "context_management.edits[0].trigger, anthropic-beta:thinking-token-count-2026-05-13"
    )


async def test_nothing_ignored_means_no_header() -> None:
    app, _ = make_app(FakeBackend(text_events("ok")))
    async with started(app):
        exchange = await Exchange("POST", "/v1/messages", body=HELLO).run(app)
    assert "x-ignored-fields" not in exchange.headers
