"""Response values returned by handlers; the app (never a handler) sends them.

A :class:`JSONResponse` is a complete body. A :class:`StreamResponse` is an SSE
stream whose frames a producer emits; the pump in :mod:`wrapper.http.pump`
sends it, deferring the headers until the first frame so that a failure before
any output still gets its proper HTTP status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from wrapper.errors import WrapperError
from wrapper.http.asgi_types import Message
from wrapper.http.sse import SSE_HEADERS

Headers = list[tuple[str, str]]

_ENCODER = msgspec.json.Encoder()


class JSONResponse:
    """A complete JSON (or empty) response."""

    __slots__ = ("body", "headers", "media_type", "status")

    def __init__(
        self,
        body: bytes,
        status: int = 200,
        headers: Sequence[tuple[str, str]] = (),
        media_type: str = "application/json",
    ) -> None:
        self.body = body
        self.status = status
        self.headers: Headers = list(headers)
        self.media_type = media_type


def json_response(
    payload: Any, status: int = 200, headers: Sequence[tuple[str, str]] = ()
) -> JSONResponse:
    """Encode ``payload`` (a msgspec Struct or plain data) as a JSON response."""
    return JSONResponse(_ENCODER.encode(payload), status, headers)


Emit = Callable[[bytes], Awaitable[None]]
Producer = Callable[[Emit], Awaitable[None]]


class StreamResponse:
    """An SSE response.

    ``produce(emit)`` runs the turn and emits each frame; it owns the backend
    turn and releases it however it returns (normally, by error, or cancelled
    when the client leaves). ``error_frame`` renders an error that happens after
    the headers went out as the dialect's in-stream error. ``ping_frame`` is what
    the pump sends while the stream is idle (default: the ``: ping`` comment).
    ``headers`` are sent after :data:`~wrapper.http.sse.SSE_HEADERS`.
    """

    __slots__ = ("error_frame", "headers", "ping_frame", "produce")

    def __init__(
        self,
        produce: Producer,
        error_frame: Callable[[WrapperError], bytes],
        headers: Sequence[tuple[str, str]] = (),
        ping_frame: bytes | None = None,
    ) -> None:
        self.produce = produce
        self.error_frame = error_frame
        self.headers: Headers = [*SSE_HEADERS, *headers]
        self.ping_frame = ping_frame


Response = JSONResponse | StreamResponse


def start_message(status: int, headers: Headers) -> Message:
    """The ASGI ``http.response.start`` message for ``status`` and ``headers``."""
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
    }


def body_message(body: bytes, more: bool = False) -> Message:
    """The ASGI ``http.response.body`` message."""
    return {"type": "http.response.body", "body": body, "more_body": more}
