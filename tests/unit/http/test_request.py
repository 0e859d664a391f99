"""The request reader: the body limit counts received bytes; decode errors become 400s."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import msgspec
import pytest

from wrapper.errors import InvalidRequestError, PayloadTooLargeError, RequestTimeoutError
from wrapper.http.request import (
    MAX_JSON_DEPTH,
    ClientDisconnectedError,
    Request,
    decode_json,
    json_depth,
)


class _Body(msgspec.Struct):
    name: str
    items: list[int] = []


_DECODER = msgspec.json.Decoder(_Body)


def _receiver(messages: list[dict[str, Any]]) -> Callable[[], Awaitable[dict[str, Any]]]:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


def _request(messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]]) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/x",
        "headers": headers,
        "query_string": b"a=1&b=",
        "client": ("10.0.0.1", 1234),
    }
    return Request(scope, _receiver(messages), "req_1")


def _chunks(*parts: bytes) -> list[dict[str, Any]]:
    return [
        {"type": "http.request", "body": part, "more_body": index < len(parts) - 1}
        for index, part in enumerate(parts)
    ]


def test_scope_fields() -> None:
    request = _request([], [(b"X-Thing", b"v"), (b"content-type", b"application/json")])
    assert request.headers["x-thing"] == "v"
    assert request.query == {"a": "1", "b": ""}
    assert request.client_ip == "10.0.0.1"


@pytest.mark.anyio
async def test_chunked_body_is_counted_as_it_arrives() -> None:
    request = _request(_chunks(b"12345", b"67890", b"1"), [])
    with pytest.raises(PayloadTooLargeError) as caught:
        await request.body(10)
    assert "MAX_REQUEST_SIZE" in caught.value.message


@pytest.mark.anyio
async def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    request = _request([], [(b"content-length", b"11")])
    with pytest.raises(PayloadTooLargeError):
        await request.body(10)


@pytest.mark.anyio
async def test_body_at_the_limit_is_read_once() -> None:
    request = _request(_chunks(b"12345", b"", b"67890"), [])
    assert await request.body(10) == b"1234567890"
    assert await request.body(10) == b"1234567890"


@pytest.mark.anyio
async def test_disconnect_while_reading() -> None:
    request = _request([*_chunks(b"1", b"2")[:1], {"type": "http.disconnect"}], [])
    with pytest.raises(ClientDisconnectedError):
        await request.body(10)


@pytest.mark.parametrize("raw", [b"", b"   \n"])
def test_empty_body_is_400(raw: bytes) -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        decode_json(raw, _DECODER)


def test_malformed_json_is_400() -> None:
    with pytest.raises(InvalidRequestError, match="not valid JSON") as caught:
        decode_json(b'{"name": ', _DECODER)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b'{"name": 1}', "name"),
        (b'{"name": "a", "items": [1, "x"]}', "items[1]"),
        (b"{}", None),
        (b"[]", None),
    ],
)
def test_schema_violation_names_the_field(raw: bytes, param: str | None) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        decode_json(raw, _DECODER)
    assert caught.value.param == param
    if param is not None:
        assert f"$.{param}" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"[" * 5000 + b"]" * 5000, MAX_JSON_DEPTH + 1),
        (b'{"a": "' + b"[" * 500 + b'"}', 1),
        (b'{"a": "\\"' + b"{" * 500 + b'"}', 1),
        (b'{"a":[' * MAX_JSON_DEPTH + b"]}" * MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1),
        (b"[1, [2]]" * 200, 2),
    ],
)
def test_json_depth_counts_nesting_outside_strings(raw: bytes, depth: int) -> None:
    assert json_depth(raw) == depth


def test_json_nested_past_the_limit_is_a_400_naming_the_limit() -> None:
    deep = b'{"name": "a", "items": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    with pytest.raises(InvalidRequestError, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        decode_json(deep, _DECODER)


def test_json_at_the_limit_still_decodes() -> None:
    nested = b"[" * (MAX_JSON_DEPTH - 1) + b"1" + b"]" * (MAX_JSON_DEPTH - 1)
    assert decode_json(nested, msgspec.json.Decoder()) is not None


@pytest.mark.anyio
async def test_a_body_that_does_not_arrive_in_time_is_a_408() -> None:
    async def receive() -> dict[str, Any]:
        await anyio.sleep(10)
        return {"type": "http.request", "body": b"x"}

    request = Request(
        {"type": "http", "method": "POST", "path": "/v1/x", "headers": []}, receive, "req_1"
    )
    with pytest.raises(RequestTimeoutError, match="BODY_TIMEOUT_SECONDS"):
        await request.body(100, 0.01)
