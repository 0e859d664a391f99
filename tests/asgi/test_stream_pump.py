"""The SSE pump in-process: deferred headers, in-stream errors, pings, disconnects."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from tests.asgi.driver import Exchange, json_body, make_app, quiet_settings, started
from tests.fakes.backend import Call, FakeBackend, Step, hang, text_events
from wrapper.errors import BackendTimeoutError, UpstreamError, UpstreamOverloadedError

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
STREAM = json_body({"stream": True, "messages": [{"role": "user", "content": "hi"}]})


def _started_streaming(exchange: Exchange) -> bool:
    return exchange.start is not None


async def test_a_stream_of_chunks_then_done() -> None:
    backend = FakeBackend(text_events("Hel", "lo"))
    app, _ = make_app(backend)
    async with started(app):
        exchange = await Exchange("POST", CHAT, body=STREAM).run(app)
    assert exchange.status == 200
    assert exchange.headers["content-type"] == "text/event-stream"
    assert exchange.headers["cache-control"] == "no-cache"
    assert exchange.headers["x-request-id"].startswith("req_")
    for forbidden in ("content-length", "connection", "transfer-encoding", "keep-alive"):
        assert forbidden not in exchange.headers
    frames = exchange.data_frames()
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(frame) for frame in frames[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Hello"
    assert exchange.complete
    assert backend.exits == ["normal"]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (UpstreamOverloadedError("busy", retry_after=30), 503, "upstream_overloaded"),
        (BackendTimeoutError("too slow"), 504, "timeout"),
        (UpstreamError("broke"), 502, "upstream_error"),
    ],
)
async def test_an_error_before_the_first_event_is_a_json_error_with_its_status(
    error: Exception, status: int, code: str
) -> None:
    backend = FakeBackend([error])
    app, _ = make_app(backend)
    async with started(app):
        exchange = await Exchange("POST", CHAT, body=STREAM).run(app)
    assert exchange.status == status
    assert exchange.headers["content-type"] == "application/json"
    assert exchange.json()["error"]["code"] == code
    assert backend.exits == ["error"]


async def test_headers_wait_for_the_first_frame() -> None:
    gate = anyio.Event()
    script: list[Step] = [Call(gate.wait), *text_events("late")]
    backend = FakeBackend(script)
    app, _ = make_app(backend, quiet_settings(first_byte_deadline_s=60, ping_interval_s=60))
    exchange = Exchange("POST", CHAT, body=STREAM)
    async with started(app), anyio.create_task_group() as group:
        group.start_soon(exchange.run, app)
        await anyio.wait_all_tasks_blocked()
        assert exchange.sent == []
        gate.set()
        await exchange.wait_for(lambda e: e.complete)
    assert exchange.status == 200
    assert exchange.data_frames()[-1] == "[DONE]"


async def test_an_error_after_the_first_event_is_an_in_stream_error_frame() -> None:
    script: list[Step] = [*text_events("partial")[:3], UpstreamOverloadedError("busy")]
    backend = FakeBackend(script)
    app, _ = make_app(backend)
    async with started(app):
        exchange = await Exchange("POST", CHAT, body=STREAM).run(app)
    assert exchange.status == 200
    assert exchange.headers["content-type"] == "text/event-stream"
    frames = exchange.data_frames()
    assert "[DONE]" not in frames
    last = json.loads(frames[-1])
    assert set(last["error"]) == {"message", "type", "param", "code"}
    assert last["error"]["code"] == "upstream_overloaded"
    assert exchange.complete
    assert backend.exits == ["error"]


async def test_pings_while_idle_and_headers_after_the_first_byte_deadline() -> None:
    gate = anyio.Event()
    script: list[Step] = [Call(gate.wait), *text_events("after the wait")]
    backend = FakeBackend(script)
    app, _ = make_app(backend, quiet_settings(first_byte_deadline_s=0.01, ping_interval_s=0.01))
    exchange = Exchange("POST", CHAT, body=STREAM)
    async with started(app), anyio.create_task_group() as group:
        group.start_soon(exchange.run, app)
        await exchange.wait_for(lambda e: e.pings() >= 3)
        # The deadline passed with no output: headers went out with 200.
        assert exchange.status == 200
        assert exchange.data_frames() == []
        gate.set()
        await exchange.wait_for(lambda e: e.complete)
    assert exchange.body.startswith(b": ping\n\n")
    assert exchange.data_frames()[-1] == "[DONE]"
    assert backend.exits == ["normal"]


async def test_an_error_after_the_deadline_but_before_output_is_an_in_stream_frame() -> None:
    gate = anyio.Event()
    script: list[Step] = [Call(gate.wait), UpstreamError("late failure")]
    backend = FakeBackend(script)
    app, _ = make_app(backend, quiet_settings(first_byte_deadline_s=0.01, ping_interval_s=0.01))
    exchange = Exchange("POST", CHAT, body=STREAM)
    async with started(app), anyio.create_task_group() as group:
        group.start_soon(exchange.run, app)
        await exchange.wait_for(lambda e: e.pings() >= 1)
        gate.set()
        await exchange.wait_for(lambda e: e.complete)
    assert exchange.status == 200
    assert json.loads(exchange.data_frames()[-1])["error"]["code"] == "upstream_error"


async def test_a_client_disconnect_cancels_the_turn() -> None:
    script: list[Step] = [*text_events("first")[:3], hang()]
    backend = FakeBackend(script)
    app, _ = make_app(backend, quiet_settings(ping_interval_s=60))
    exchange = Exchange("POST", CHAT, body=STREAM)
    async with started(app), anyio.create_task_group() as group:
        group.start_soon(exchange.run, app)
        await exchange.wait_for(lambda e: len(e.data_frames()) >= 2)
        assert backend.open_turns == 1
        exchange.disconnect()
    # exchange.run returned: the app is done with the request.
    assert backend.exits == ["cancelled"]
    assert backend.open_turns == 0
    assert not exchange.complete


class StalledClient(Exchange):
    """A client that stops reading after its first body frame: the next send never returns."""

    async def send(self, message: dict[str, Any]) -> None:
        frames = [m for m in self.sent if m["type"] == "http.response.body"]
        if message["type"] == "http.response.body" and frames:
            await anyio.sleep_forever()
        await super().send(message)


async def test_a_client_that_stops_reading_is_dropped_after_the_write_timeout() -> None:
    script: list[Step] = [*text_events("first", "second"), hang()]
    backend = FakeBackend(script)
    app, _ = make_app(backend, quiet_settings(ping_interval_s=60, stream_write_timeout_s=0.05))
    exchange = StalledClient("POST", CHAT, body=STREAM)
    with anyio.fail_after(10):
        async with started(app):
            await exchange.run(app)
    assert backend.exits == ["cancelled"]
    assert backend.open_turns == 0
    assert len(exchange.data_frames()) == 1
    assert not exchange.complete


async def test_a_disconnect_before_any_output_cancels_the_turn() -> None:
    backend = FakeBackend([hang()])
    app, _ = make_app(backend, quiet_settings(first_byte_deadline_s=60))
    exchange = Exchange("POST", CHAT, body=STREAM)
    async with started(app), anyio.create_task_group() as group:
        group.start_soon(exchange.run, app)
        await anyio.wait_all_tasks_blocked()
        assert backend.open_turns == 1
        exchange.disconnect()
    assert backend.exits == ["cancelled"]
    assert exchange.sent == []


async def test_a_disconnect_during_a_non_stream_request_cancels_the_turn() -> None:
    backend = FakeBackend([hang()])
    app, _ = make_app(backend)
    body = json_body({"messages": [{"role": "user", "content": "hi"}]})
    exchange = Exchange("POST", CHAT, body=body)
    async with started(app), anyio.create_task_group() as group:
        group.start_soon(exchange.run, app)
        await anyio.wait_all_tasks_blocked()
        assert backend.open_turns == 1
        exchange.disconnect()
    assert backend.exits == ["cancelled"]
    assert exchange.sent == []


async def test_health_answers_while_a_stream_is_open() -> None:
    backend = FakeBackend([*text_events("x")[:3], hang()])
    app, _ = make_app(backend, quiet_settings(ping_interval_s=60))
    stream = Exchange("POST", CHAT, body=STREAM)
    async with started(app), anyio.create_task_group() as group:
        group.start_soon(stream.run, app)
        await stream.wait_for(_started_streaming)
        health = await Exchange("GET", "/health").run(app)
        assert health.status == 200
        stream.disconnect()
    assert backend.exits == ["cancelled"]
