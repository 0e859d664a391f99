"""Error envelopes of both dialects, rendered from a :class:`WrapperError`.

OpenAI: ``{"error": {"message", "type", "param", "code"}}`` (all four keys, nulls
allowed). Anthropic: ``{"type": "error", "error": {"type", "message"},
"request_id"}``, with Anthropic's own types and its 529 for overload.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from wrapper.errors import ErrorKind, WrapperError


class OpenAIErrorBody(msgspec.Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(msgspec.Struct):
    error: OpenAIErrorBody


class AnthropicErrorBody(msgspec.Struct):
    type: str
    message: str


class AnthropicError(msgspec.Struct, tag_field="type", tag="error"):
    error: AnthropicErrorBody
    request_id: str | None = None


_OPENAI_TYPES: dict[ErrorKind, str] = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "authentication_error",
    ErrorKind.PERMISSION: "permission_error",
    ErrorKind.NOT_FOUND: "invalid_request_error",
    ErrorKind.METHOD_NOT_ALLOWED: "invalid_request_error",
    ErrorKind.CONFLICT: "invalid_request_error",
    ErrorKind.PAYLOAD_TOO_LARGE: "invalid_request_error",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.QUOTA_EXHAUSTED: "insufficient_quota",
    ErrorKind.OVERLOADED: "server_error",
    ErrorKind.UNAVAILABLE: "server_error",
    ErrorKind.TIMEOUT: "server_error",
    ErrorKind.UPSTREAM: "server_error",
    ErrorKind.NOT_SUPPORTED: "server_error",
    ErrorKind.INTERNAL: "server_error",
}

_ANTHROPIC_TYPES: dict[ErrorKind, str] = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "authentication_error",
    ErrorKind.PERMISSION: "permission_error",
    ErrorKind.NOT_FOUND: "not_found_error",
    ErrorKind.METHOD_NOT_ALLOWED: "invalid_request_error",
    ErrorKind.CONFLICT: "invalid_request_error",
    ErrorKind.PAYLOAD_TOO_LARGE: "request_too_large",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.QUOTA_EXHAUSTED: "billing_error",
    ErrorKind.OVERLOADED: "overloaded_error",
    ErrorKind.UNAVAILABLE: "overloaded_error",
    ErrorKind.TIMEOUT: "timeout_error",
    ErrorKind.UPSTREAM: "api_error",
    ErrorKind.NOT_SUPPORTED: "api_error",
    ErrorKind.INTERNAL: "api_error",
}

Dialect = Literal["openai", "anthropic"]


def openai_error(error: WrapperError) -> OpenAIError:
    """``error`` as an OpenAI error object."""
    return OpenAIError(
        OpenAIErrorBody(
            message=error.message,
            type=_OPENAI_TYPES[error.kind],
            param=error.param,
            code=error.code,
        )
    )


def anthropic_error(error: WrapperError, request_id: str | None = None) -> AnthropicError:
    """``error`` as an Anthropic error object."""
    return AnthropicError(
        AnthropicErrorBody(type=_ANTHROPIC_TYPES[error.kind], message=error.message),
        request_id=request_id,
    )


def status_for(error: WrapperError, dialect: Dialect) -> int:
    """The HTTP status of ``error`` in ``dialect``.

    Anthropic reports an overload as 529 and a billing refusal as 402, where OpenAI
    uses 503 and 429.
    """
    if dialect == "anthropic" and error.kind is ErrorKind.OVERLOADED:
        return 529
    if dialect == "anthropic" and error.kind is ErrorKind.QUOTA_EXHAUSTED:
        return 402
    return error.status
