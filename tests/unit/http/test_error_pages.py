"""Every error rendered in both dialects: status, envelope, headers, in-stream frames."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wrapper.errors import (
    AuthenticationError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConflictError,
    InternalError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    UpstreamAuthenticationError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamRateLimitedError,
    WrapperError,
)
from wrapper.http.error_pages import (
    anthropic_stream_error_frame,
    openai_stream_error_frame,
    render_error,
)

# (error, OpenAI status, OpenAI type, Anthropic status, Anthropic type)
CASES: list[tuple[WrapperError, int, str, int, str]] = [
    (InvalidRequestError("bad", param="messages[0]"), 400, "invalid_request_error", 400,
     "invalid_request_error"),
    (AuthenticationError("key"), 401, "authentication_error", 401, "authentication_error"),
    (UpstreamAuthenticationError("creds"), 401, "authentication_error", 401,
     "authentication_error"),
    (PermissionDeniedError("no"), 403, "permission_error", 403, "permission_error"),
    (NotFoundError("gone"), 404, "invalid_request_error", 404, "not_found_error"),
    (MethodNotAllowedError("GET", ["POST"]), 405, "invalid_request_error", 405,
     "invalid_request_error"),
    (ConflictError("busy"), 409, "invalid_request_error", 409, "invalid_request_error"),
    (PayloadTooLargeError("big"), 413, "invalid_request_error", 413, "request_too_large"),
    (RateLimitedError("slow", retry_after=3), 429, "rate_limit_error", 429, "rate_limit_error"),
    (UpstreamRateLimitedError("slow", retry_after=30), 429, "rate_limit_error", 429,
     "rate_limit_error"),
    (UpstreamOverloadedError("busy", retry_after=30), 503, "server_error", 529,
     "overloaded_error"),
    (BackendUnavailableError("down"), 503, "server_error", 503, "overloaded_error"),
    (BackendTimeoutError("late"), 504, "server_error", 504, "timeout_error"),
    (UpstreamError("broke", upstream_status=500), 502, "server_error", 502, "api_error"),
    (InternalError("bug"), 500, "server_error", 500, "api_error"),
]  # fmt: skip


def _ids() -> list[str]:
    return [type(case[0]).__name__ for case in CASES]


@pytest.mark.parametrize(("error", "status", "kind", "_a_status", "_a_kind"), CASES, ids=_ids())
def test_openai_envelope_has_all_four_keys(
    error: WrapperError, status: int, kind: str, _a_status: int, _a_kind: str
) -> None:
    rendered = render_error(error, "openai", "req_1")
    body: dict[str, Any] = json.loads(rendered.body)
    assert rendered.status == status
    assert rendered.media_type == "application/json"
    assert list(body) == ["error"]
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == kind
    assert body["error"]["message"] == error.message
    assert body["error"]["param"] == error.param
    assert body["error"]["code"] == error.code


@pytest.mark.parametrize(("error", "_status", "_kind", "status", "kind"), CASES, ids=_ids())
def test_anthropic_envelope(
    error: WrapperError, _status: int, _kind: str, status: int, kind: str
) -> None:
    rendered = render_error(error, "anthropic", "req_42")
    body: dict[str, Any] = json.loads(rendered.body)
    assert rendered.status == status
    assert body == {
        "type": "error",
        "error": {"type": kind, "message": error.message},
        "request_id": "req_42",
    }


def test_param_null_and_code_default() -> None:
    body = json.loads(render_error(InternalError("x"), "openai", "r").body)
    assert body["error"]["param"] is None
    assert body["error"]["code"] == "internal_error"


def test_code_override() -> None:
    error = NotFoundError("no model", code="model_not_found")
    assert json.loads(render_error(error, "openai", "r").body)["error"]["code"] == (
        "model_not_found"
    )


@pytest.mark.parametrize(
    ("retry_after", "header"), [(30, "30"), (0.2, "1"), (1.0, "1"), (1.2, "2"), (0, "1")]
)
@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_retry_after_is_whole_seconds_rounded_up(
    retry_after: float, header: str, dialect: str
) -> None:
    error = RateLimitedError("slow", retry_after=retry_after)
    rendered = render_error(error, "anthropic" if dialect == "anthropic" else "openai", "r")
    assert ("retry-after", header) in rendered.headers


def test_no_retry_after_unless_given() -> None:
    rendered = render_error(UpstreamError("x"), "openai", "r")
    assert not any(name == "retry-after" for name, _ in rendered.headers)


def test_405_carries_allow() -> None:
    rendered = render_error(MethodNotAllowedError("PUT", ["GET", "POST"]), "openai", "r")
    assert ("allow", "GET, POST") in rendered.headers


def test_extra_headers_are_kept() -> None:
    error = AuthenticationError("no", headers=[("www-authenticate", "Bearer")])
    assert ("www-authenticate", "Bearer") in render_error(error, "openai", "r").headers


def test_openai_stream_error_frame_is_a_data_frame_with_an_error_object() -> None:
    frame = openai_stream_error_frame(UpstreamOverloadedError("busy"))
    assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
    assert b"event:" not in frame
    payload = json.loads(frame[len(b"data: ") :])
    assert payload["error"]["type"] == "server_error"
    assert payload["error"]["code"] == "upstream_overloaded"


def test_anthropic_stream_error_frame_is_an_error_event() -> None:
    frame = anthropic_stream_error_frame(UpstreamOverloadedError("busy"))
    head, data = frame.split(b"\n", 1)
    assert head == b"event: error"
    payload = json.loads(data.removeprefix(b"data: "))
    assert payload["type"] == "error"
    assert payload["error"] == {"type": "overloaded_error", "message": "busy"}
