"""The one mapping from SDK / CLI / API failures to the WrapperError family."""

from __future__ import annotations

import time

import pytest
import structlog
from claude_agent_sdk import CLIConnectionError, CLINotFoundError, ProcessError

from wrapper.backend.sdk_errors import (
    ProcessEndedError,
    error_for_exception,
    error_for_status,
    sdk_failures,
    status_from_text,
    upstream_message,
)
from wrapper.errors import (
    BackendUnavailableError,
    ExtraUsageRefusedError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    UpstreamAuthenticationError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamRateLimitedError,
    UsageLimitError,
    WrapperError,
)
from wrapper.logging import configure_logging


@pytest.mark.parametrize(
    ("status", "text", "kind", "expected", "http"),
    [
        (401, "x", None, UpstreamAuthenticationError, 401),
        (None, "Not logged in. Please run /login", None, UpstreamAuthenticationError, 401),
        (None, "x", "authentication_failed", UpstreamAuthenticationError, 401),
        (402, "x", None, ExtraUsageRefusedError, 429),
        (None, "x", "billing_error", ExtraUsageRefusedError, 429),
        (
            None,
            "You've hit your 5-hour limit · resets 4am (UTC)",
            "rate_limit",
            UsageLimitError,
            429,
        ),
        (401, "You've hit your limit", None, UsageLimitError, 429),
        (None, "You're out of extra usage", "rate_limit", ExtraUsageRefusedError, 429),
        (403, "x", None, PermissionDeniedError, 403),
        (404, "model: nope", None, NotFoundError, 404),
        (413, "x", None, PayloadTooLargeError, 413),
        (429, "x", None, UpstreamRateLimitedError, 429),
        (None, "x", "rate_limit", UpstreamRateLimitedError, 429),
        (529, "x", None, UpstreamOverloadedError, 503),
        (None, "Overloaded", None, UpstreamOverloadedError, 503),
        (400, "prompt is too long", None, InvalidRequestError, 400),
        (422, "x", None, InvalidRequestError, 400),
        (None, "x", "invalid_request", InvalidRequestError, 400),
        (500, "x", None, UpstreamError, 502),
        (None, None, None, UpstreamError, 502),
    ],
)
def test_error_for_status(
    status: int | None,
    text: str | None,
    kind: str | None,
    expected: type[WrapperError],
    http: int,
) -> None:
    error = error_for_status(status, text, kind)
    assert type(error) is expected
    assert error.status == http


def test_a_plan_limit_asks_clients_back_when_its_window_resets() -> None:
    resets_at = time.time() + 1800
    error = error_for_status(
        None, "You've hit your session limit", "rate_limit", resets_at=resets_at
    )
    assert isinstance(error, UsageLimitError)
    assert error.code == "usage_limit_reached"
    wait = int(dict(error.response_headers())["retry-after"])
    assert 1790 <= wait <= 1800


def test_a_rate_limit_kind_with_a_known_reset_is_a_plan_limit() -> None:
    error = error_for_status(None, "limited", "rate_limit", resets_at=time.time() + 120)
    assert isinstance(error, UsageLimitError)


def test_a_billing_refusal_tells_clients_not_to_retry() -> None:
    error = error_for_status(None, "Your credit balance is too low to access the API", None)
    assert isinstance(error, ExtraUsageRefusedError)
    assert error.code == "insufficient_quota"
    assert ("x-should-retry", "false") in error.response_headers()
    assert not any(name == "retry-after" for name, _ in error.response_headers())


def test_rate_limit_and_overload_ask_clients_to_retry_later() -> None:
    assert error_for_status(429, "x").response_headers() == [("retry-after", "30")]
    assert error_for_status(529, "x").response_headers() == [("retry-after", "30")]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("API Error: 429 {...}", 429),
        ("API Error: Request failed (503)", 503),
        ("nothing here", None),
        (None, None),
    ],
)
def test_status_from_text(text: str | None, status: int | None) -> None:
    assert status_from_text(text) == status


def test_upstream_message_is_one_bounded_line() -> None:
    assert upstream_message(None) == "Claude's API returned an error."
    assert upstream_message("a\n  b\tc") == "a b c"
    assert len(upstream_message("x" * 5000)) == 500


class NamedLikeTheSdk(Exception):
    """A class that only shares a name with an SDK error is not mistaken for one."""


NamedLikeTheSdk.__name__ = "ProcessError"


@pytest.mark.parametrize(
    ("exc", "stderr", "expected", "message"),
    [
        (CLINotFoundError("/usr/bin/claude missing"), "", BackendUnavailableError,
         "The Claude CLI is not installed on this server."),
        (ProcessError("exit 1: secret /home/x/path", exit_code=1), "", UpstreamError,
         "The Claude CLI process failed."),
        (CLIConnectionError("spawn failed: secret"), "", UpstreamError,
         "The Claude CLI process failed."),
        (ProcessEndedError(), "", UpstreamError,
         "The Claude CLI ended before finishing the reply."),
        (NamedLikeTheSdk("detail"), "", UpstreamError, "The Claude backend failed."),
        (RuntimeError("internal detail"), "", UpstreamError, "The Claude backend failed."),
        (RuntimeError("boom"), "Invalid API key", UpstreamAuthenticationError, None),
    ],
)  # fmt: skip
def test_error_for_exception_never_shows_the_exception_text(
    exc: Exception, stderr: str, expected: type[WrapperError], message: str | None
) -> None:
    error = error_for_exception(exc, stderr)
    assert type(error) is expected
    assert not str(exc) or str(exc) not in error.message
    if message is not None:
        assert error.message == message


class Dying:
    """A process that failed: what the boundary logs of it."""

    label = "pool"
    pid: int | None = 4242
    exit_code = 3
    stderr_tail = "line one\nfatal: the secret reason"


def test_the_boundary_classifies_by_type_and_logs_for_the_operator_only() -> None:
    configure_logging("json", "info")  # an in-process app may have left "error" behind
    with (
        structlog.testing.capture_logs() as logs,
        pytest.raises(UpstreamError) as caught,
        sdk_failures(Dying(), "start"),
    ):
        raise ProcessError("Command failed with exit code 3", exit_code=3)
    assert caught.value.code == "cli_process_failed"
    assert "secret" not in caught.value.message
    assert isinstance(caught.value.__cause__, ProcessError)
    (entry,) = [log for log in logs if log["event"] == "backend.cli_failed"]
    assert entry["action"] == "start"
    assert entry["error_type"] == "ProcessError"
    assert entry["exit_code"] == 3
    assert entry["pid"] == 4242
    assert entry["stderr_tail"].endswith("fatal: the secret reason")


def test_the_boundary_lets_wrapper_errors_and_cancellation_through() -> None:
    already = UpstreamError("classified", code="x")
    with pytest.raises(UpstreamError) as caught, sdk_failures(Dying(), "read"):
        raise already
    assert caught.value is already
    with pytest.raises(KeyboardInterrupt), sdk_failures(Dying(), "read"):
        raise KeyboardInterrupt
