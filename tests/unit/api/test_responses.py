"""The Responses handlers and producers in-process, on a scripted backend (no CLI).

Covers what the wire tests cannot see directly: what is stored and when (before
the terminal event), how ``previous_response_id`` rebuilds the conversation,
and the numbering of an in-stream failure.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest

from tests.asgi.driver import make_app, quiet_settings, started
from tests.fakes.backend import FakeBackend, text_events
from wrapper.api.responses import ResponsesAPI
from wrapper.config import ModelSettings
from wrapper.errors import BackendTimeoutError, InvalidRequestError, NotFoundError
from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    Message,
    MessageStart,
    TextPart,
    ToolInputDelta,
    ToolResultPart,
    ToolUsePart,
    TurnEnd,
    Usage,
)
from wrapper.http.request import Request
from wrapper.http.responses import JSONResponse, StreamResponse
from wrapper.storage.responses import MemoryResponseStore

pytestmark = pytest.mark.anyio


def tool_events(call_id: str, name: str, arguments: str) -> list[AgentEvent]:
    return [
        MessageStart(model="m"),
        BlockStart(index=0, type="tool_use", tool_id=call_id, tool_name=name),
        ToolInputDelta(index=0, partial_json=arguments),
        BlockStop(index=0),
        TurnEnd(stop_reason="tool_use", usage=Usage(input_tokens=1, output_tokens=1), model="m"),
    ]


@asynccontextmanager
async def make_api(backend: FakeBackend) -> AsyncIterator[tuple[ResponsesAPI, MemoryResponseStore]]:
    """The handler on the app's real context, with an inspectable response store."""
    store = MemoryResponseStore()
    settings = quiet_settings(models=ModelSettings(default_model="claude-default"))
    app, _ = make_app(backend, settings)
    async with started(app):
        assert app.ctx is not None
        stores = msgspec.structs.replace(app.ctx.stores, responses=store)
        yield ResponsesAPI(msgspec.structs.replace(app.ctx, stores=stores)), store


def request(method: str, path: str, body: Any = None, **params: str) -> Request:
    raw = json.dumps(body).encode() if body is not None else b""
    messages = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
    req = Request(scope, receive, "req_test")
    req.path_params = dict(params)
    return req


async def create(api: ResponsesAPI, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.create(request("POST", "/v1/responses", body))
    assert isinstance(response, JSONResponse)
    result: dict[str, Any] = json.loads(response.body)
    return result


async def collect(response: StreamResponse) -> list[tuple[str, dict[str, Any]]]:
    frames: list[bytes] = []

    async def emit(frame: bytes) -> None:
        frames.append(frame)

    await response.produce(emit)
    return parse(b"".join(frames))


def parse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        name = lines[0].removeprefix("event: ")
        data = "\n".join(line.removeprefix("data: ") for line in lines[1:])
        events.append((name, json.loads(data)))
    return events


async def test_a_stored_response_continues_with_previous_response_id() -> None:
    backend = FakeBackend(text_events("Hi Ada"), text_events("Your name is Ada"))
    async with make_api(backend) as (api, store):
        first = await create(api, {"input": "My name is Ada", "instructions": "Be kind."})
        assert first["store"] is True
        second = await create(api, {"input": "Name?", "previous_response_id": first["id"]})
        turn = backend.turns[1]
        assert turn.messages == (
            Message(role="user", content=(TextPart(text="My name is Ada"),)),
            Message(role="assistant", content=(TextPart(text="Hi Ada"),)),
            Message(role="user", content=(TextPart(text="Name?"),)),
        )
        assert turn.system is None  # instructions are not carried over
        assert second["previous_response_id"] == first["id"]
        stored = await store.get(second["id"])
        assert stored is not None
        assert len(stored.conversation) == 4


async def test_a_tool_call_continues_with_its_output() -> None:
    backend = FakeBackend(tool_events("toolu_1", "get_weather", '{"city":"Oslo"}'))
    async with make_api(backend) as (api, _):
        tools = [{"type": "function", "name": "get_weather"}]
        first = await create(api, {"input": "Weather?", "tools": tools})
        call = first["output"][0]
        assert (call["type"], call["call_id"]) == ("function_call", "toolu_1")
        await create(
            api,
            {
                "previous_response_id": first["id"],
                "tools": tools,
                "input": [{"type": "function_call_output", "call_id": "toolu_1", "output": "-3C"}],
            },
        )
        assert backend.turns[1].messages[1:] == (
            Message(
                role="assistant",
                content=(ToolUsePart(id="toolu_1", name="get_weather", input={"city": "Oslo"}),),
            ),
            Message(
                role="user",
                content=(ToolResultPart(tool_use_id="toolu_1", content=(TextPart("-3C"),)),),
            ),
        )


async def test_get_and_delete() -> None:
    async with make_api(FakeBackend(text_events("ok"))) as (api, _):
        created = await create(api, {"input": "hi"})
        got = await api.retrieve(request("GET", "/", response_id=created["id"]))
        assert isinstance(got, JSONResponse)
        assert json.loads(got.body) == created
        deleted = await api.delete(request("DELETE", "/", response_id=created["id"]))
        assert isinstance(deleted, JSONResponse)
        assert json.loads(deleted.body) == {
            "id": created["id"],
            "object": "response.deleted",
            "deleted": True,
        }
        for call in (api.retrieve, api.delete):
            with pytest.raises(NotFoundError) as caught:
                await call(request("GET", "/", response_id=created["id"]))
            assert caught.value.param == "response_id"


async def test_store_false_keeps_nothing() -> None:
    async with make_api(FakeBackend(text_events("ok"))) as (api, store):
        created = await create(api, {"input": "hi", "store": False})
        assert created["store"] is False
        assert await store.get(created["id"]) is None
        assert len(store) == 0


async def test_unknown_previous_response_is_404_before_any_turn() -> None:
    backend = FakeBackend(text_events("never"))
    async with make_api(backend) as (api, _):
        with pytest.raises(NotFoundError) as caught:
            await create(api, {"input": "x", "previous_response_id": "resp_nope"})
        assert caught.value.param == "previous_response_id"
        assert caught.value.code == "previous_response_not_found"
        assert backend.turns == []


async def test_streaming_replay_of_a_stored_response_is_refused() -> None:
    async with make_api(FakeBackend(text_events("ok"))) as (api, _):
        req = request("GET", "/", response_id="resp_x")
        req.query = {"stream": "true"}
        with pytest.raises(InvalidRequestError):
            await api.retrieve(req)


async def test_a_stream_is_stored_before_its_terminal_event() -> None:
    backend = FakeBackend(text_events("Hello", " there"))
    async with make_api(backend) as (api, store):
        response = await api.create(
            request("POST", "/v1/responses", {"input": "hi", "stream": True})
        )
        assert isinstance(response, StreamResponse)
        frames: list[tuple[str, bool]] = []
        response_id = ""

        async def emit(frame: bytes) -> None:
            nonlocal response_id
            ((name, data),) = parse(frame)
            if name == "response.created":
                response_id = data["response"]["id"]
            frames.append((name, await store.get(response_id) is not None))

        await response.produce(emit)
        assert frames[-1] == ("response.completed", True)
        assert all(not stored for _, stored in frames[:-1])
        assert [n for n, _ in frames][:2] == ["response.created", "response.in_progress"]
        assert backend.exits == ["normal"]


async def test_a_failure_mid_stream_continues_the_numbering() -> None:
    script = [*text_events("partial")[:3], BackendTimeoutError("took too long")]
    async with make_api(FakeBackend(script)) as (api, store):
        response = await api.create(
            request("POST", "/v1/responses", {"input": "hi", "stream": True})
        )
        assert isinstance(response, StreamResponse)
        frames: list[bytes] = []

        async def emit(frame: bytes) -> None:
            frames.append(frame)

        with pytest.raises(BackendTimeoutError) as caught:
            await response.produce(emit)
        tail = response.error_frame(caught.value)
        events = parse(b"".join(frames) + tail)
        assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
        assert [name for name, _ in events][-2:] == ["error", "response.failed"]
        assert events[-2][1]["code"] == "timeout"
        failed = events[-1][1]["response"]
        assert failed["status"] == "failed"
        assert failed["output"][0]["content"][0]["text"] == "partial"
        assert len(store) == 0


async def test_non_stream_output_matches_the_streamed_one() -> None:
    script = [*tool_events("toolu_z", "f", '{"a":1}')]
    async with make_api(FakeBackend(script)) as (api, _):
        body = {"input": "x", "tools": [{"type": "function", "name": "f"}], "store": False}
        whole = await create(api, body)
        stream = await api.create(request("POST", "/v1/responses", {**body, "stream": True}))
        assert isinstance(stream, StreamResponse)
        events = await collect(stream)
        final = events[-1][1]["response"]

        def without_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: v for k, v in item.items() if k != "id"} for item in items]

        assert without_ids(final["output"]) == without_ids(whole["output"])
        for field in ("status", "usage", "tools", "tool_choice", "model", "store"):
            assert final[field] == whole[field], field
