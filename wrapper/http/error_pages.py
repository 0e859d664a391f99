"""Rendering a :class:`WrapperError` as a response or an in-stream frame, per dialect."""

from __future__ import annotations

import msgspec

from wrapper.errors import WrapperError
from wrapper.http.responses import JSONResponse
from wrapper.http.sse import encode_event
from wrapper.schemas.errors import Dialect, anthropic_error, openai_error, status_for

_ENCODER = msgspec.json.Encoder()


def render_error(error: WrapperError, dialect: Dialect, request_id: str) -> JSONResponse:
    """The complete error response for ``error`` in ``dialect``."""
    if dialect == "anthropic":
        body = _ENCODER.encode(anthropic_error(error, request_id))
    else:
        body = _ENCODER.encode(openai_error(error))
    return JSONResponse(body, status_for(error, dialect), error.response_headers())


def openai_stream_error_frame(error: WrapperError) -> bytes:
    """An error after the stream began, as OpenAI clients expect it (a ``data:`` frame)."""
    return encode_event(_ENCODER.encode(openai_error(error)).decode())


def anthropic_stream_error_frame(error: WrapperError) -> bytes:
    """An error after the stream began, as Anthropic clients expect it (``event: error``)."""
    return encode_event(_ENCODER.encode(anthropic_error(error)).decode(), event="error")
