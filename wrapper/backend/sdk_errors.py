"""The one place where failures of the SDK, the CLI and Claude's API become WrapperErrors.

:func:`sdk_failures` is the boundary every call into the SDK runs under (they are all
in :mod:`wrapper.backend.cli_process`): an exception the SDK or its CLI raises
becomes a WrapperError there, classified by its type, and is logged for the
operator with the exception type, the CLI's exit code and the tail of its stderr.
Clients never see that text.

Claude's API errors reach us as a synthetic assistant message (``error`` set,
model ``<synthetic>``) followed by an error result carrying the HTTP status, and
are classified by :func:`error_for_result`; the API's own error message (which
describes the client's request, e.g. a context that is too long) is passed on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from claude_agent_sdk import (
    ClaudeSDKError,
    CLIConnectionError,
    CLIJSONDecodeError,
    CLINotFoundError,
)

from wrapper.errors import (
    BackendUnavailableError,
    UpstreamAuthenticationError,
    UpstreamError,
    WrapperError,
)
from wrapper.logging import get_logger
from wrapper.upstream.limit_phrases import billing_error, error_for_limit_text, plan_limit_error
from wrapper.upstream.status import error_for_upstream_status, without_addresses

log = get_logger(__name__)

_STDERR_LOGGED = 2000

_STATUS_IN_TEXT = re.compile(r"API Error: (?:[^0-9]{0,40}\()?(\d{3})")
_AUTH_MARKERS = ("not logged in", "please run /login", "invalid api key", "invalid x-api-key")
_MAX_UPSTREAM_MESSAGE = 500


def upstream_message(text: str | None) -> str:
    """The part of a CLI error text worth showing a client, bounded, with no addresses."""
    if not text:
        return "Claude's API returned an error."
    cleaned = " ".join(text.split())
    return without_addresses(cleaned)[:_MAX_UPSTREAM_MESSAGE]


def status_from_text(text: str | None) -> int | None:
    """The HTTP status the CLI quoted in an ``API Error: ...`` text, if any."""
    if not text:
        return None
    match = _STATUS_IN_TEXT.search(text)
    return int(match.group(1)) if match else None


# The CLI's own kinds of failed assistant message, as the HTTP status they stand for.
_KIND_STATUS = {
    "authentication_failed": 401,
    "billing_error": 402,
    "rate_limit": 429,
    "invalid_request": 400,
}


def error_for_status(
    status: int | None,
    text: str | None,
    kind: str | None = None,
    *,
    resets_at: float | None = None,
) -> WrapperError:
    """Classify an upstream failure by HTTP status, falling back to the CLI's error kind.

    A plan limit or a billing refusal, recognised by the CLI's wording (or its error
    kind), wins over the status: it is never reported as an authentication failure.
    ``resets_at`` is when the rejected usage window resets (its Unix time), if the
    turn's rate-limit events said.
    """
    limited = error_for_limit_text(text, resets_at)
    if limited is not None:
        return limited
    if kind == "billing_error":
        return billing_error(upstream_message(text))
    if kind == "rate_limit" and status in (None, 429) and resets_at is not None:
        return plan_limit_error(upstream_message(text), resets_at)
    lowered = (text or "").lower()
    if any(marker in lowered for marker in _AUTH_MARKERS):
        status = 401
    elif status is None and kind in _KIND_STATUS:
        status = _KIND_STATUS[kind]
    elif status is None and "overloaded" in lowered:
        status = 529
    return error_for_upstream_status(status, upstream_message(text))


def structured_output_failed() -> UpstreamError:
    """The turn asked for a JSON schema and ended without output valid against it."""
    return UpstreamError(
        "The model did not produce output valid against the requested JSON schema.",
        code="structured_output_failed",
    )


def error_for_result(
    subtype: str,
    api_error_status: int | None,
    text: str | None,
    assistant_kind: str | None,
    *,
    resets_at: float | None = None,
) -> WrapperError:
    """Classify an ``is_error`` result message from the CLI."""
    if subtype == "error_max_structured_output_retries":
        return structured_output_failed()
    if subtype == "error_max_turns":
        return UpstreamError("The turn reached its maximum number of steps.", code="max_turns")
    if subtype == "error_max_budget_usd":
        return UpstreamError("The turn reached its budget limit.", code="max_budget")
    status = api_error_status or status_from_text(text)
    if status is None and assistant_kind is None and subtype == "error_during_execution":
        return UpstreamError("Claude Code failed while running the turn.", code=subtype)
    return error_for_status(status, text, assistant_kind, resets_at=resets_at)


class ProcessEndedError(Exception):
    """The CLI's message stream ended (the process exited)."""


def error_for_exception(exc: Exception, stderr_tail: str = "") -> WrapperError:
    """Classify an exception raised by the SDK (process start, crash, protocol)."""
    lowered = f"{exc} {stderr_tail}".lower()
    if any(marker in lowered for marker in _AUTH_MARKERS):
        return UpstreamAuthenticationError(
            "Claude rejected this server's credentials (check ANTHROPIC_API_KEY or the CLI login)."
        )
    if isinstance(exc, CLINotFoundError):
        return BackendUnavailableError("The Claude CLI is not installed on this server.")
    if isinstance(exc, ProcessEndedError):
        return UpstreamError("The Claude CLI ended before finishing the reply.", code="cli_exited")
    if isinstance(exc, CLIConnectionError | CLIJSONDecodeError | ClaudeSDKError):
        return UpstreamError("The Claude CLI process failed.", code="cli_process_failed")
    return UpstreamError("The Claude backend failed.", code="backend_failed")


class Diagnosable(Protocol):
    """What the boundary reports of the process a failure happened in."""

    label: str
    pid: int | None

    @property
    def exit_code(self) -> int | None: ...

    @property
    def stderr_tail(self) -> str: ...


@contextmanager
def sdk_failures(process: Diagnosable, action: str) -> Iterator[None]:
    """Run an SDK call; what it raises leaves as a WrapperError, logged for the operator.

    A WrapperError passes unchanged, and cancellation is never caught.

    Raises:
        WrapperError: the classified failure (``raise ... from`` the original).
    """
    try:
        yield
    except WrapperError:
        raise
    except Exception as exc:
        raise classified_failure(process, action, exc) from exc


def classified_failure(process: Diagnosable, action: str, exc: Exception) -> WrapperError:
    """What an SDK call that raised ``exc`` fails with, logged for the operator."""
    stderr = process.stderr_tail
    error = error_for_exception(exc, stderr)
    log.warning(
        "backend.cli_failed",
        action=action,
        error_type=type(exc).__name__,
        code=error.code,
        pid=process.pid,
        label=process.label,
        exit_code=process.exit_code,
        stderr_tail=stderr[-_STDERR_LOGGED:] or None,
    )
    return error
