"""Claude API failures by HTTP status, as WrapperErrors (one table for every caller).

Both paths to Claude's API classify with this: the CLI's error results
(``wrapper.backend.sdk_errors``) and this server's own direct calls
(``wrapper.upstream.count_tokens``). The API's own message is passed on (it
describes the client's request), bounded in length and without the URLs and
``host:port`` pairs a gateway in front of the API may put in it.
"""

from __future__ import annotations

import re

from wrapper.errors import (
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    UpstreamAuthenticationError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamRateLimitedError,
    WrapperError,
)
from wrapper.upstream.limit_phrases import billing_error

DEFAULT_RETRY_AFTER_S = 30.0


# Where the server's upstream (or a gateway in front of it) lives is the operator's
# business, not a client's: URLs and host:port pairs are cut from what clients see.
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>)]+", re.IGNORECASE)
_HOST_PORT = re.compile(
    r"(?:\blocalhost|\b(?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-f:.]+\]"
    r"|\b(?:[a-z0-9-]+\.)+[a-z]{2,}):\d{1,5}\b",
    re.IGNORECASE,
)
_HIDDEN = "[upstream]"


def without_addresses(message: str) -> str:
    """``message`` with every URL and ``host:port`` replaced by ``[upstream]``."""
    return _HOST_PORT.sub(_HIDDEN, _URL.sub(_HIDDEN, message))


def error_for_upstream_status(
    status: int | None,
    message: str,
    *,
    retry_after: float | None = None,
    auth_hint: str = "check ANTHROPIC_API_KEY or the CLI login",
) -> WrapperError:
    """The error for a Claude API failure with HTTP ``status`` (``None`` if unknown)."""
    wait = retry_after or DEFAULT_RETRY_AFTER_S
    message = without_addresses(message)
    if status == 401:
        return UpstreamAuthenticationError(
            f"Claude rejected this server's credentials ({auth_hint})."
        )
    if status == 402:
        return billing_error(message)
    if status == 403:
        return PermissionDeniedError(f"Claude's API refused the request: {message}")
    if status == 404:
        return NotFoundError(f"Claude's API did not find it: {message}", code="model_not_found")
    if status == 413:
        return PayloadTooLargeError(f"Claude's API refused the request size: {message}")
    if status == 429:
        return UpstreamRateLimitedError(
            f"Claude's API is rate limiting: {message}", retry_after=wait
        )
    if status in (503, 529):
        return UpstreamOverloadedError(f"Claude's API is overloaded: {message}", retry_after=wait)
    if status is not None and 400 <= status < 500:
        return InvalidRequestError(f"Claude's API rejected the request: {message}")
    return UpstreamError(
        f"Claude's API failed: {message}", upstream_status=status, code="upstream_error"
    )
