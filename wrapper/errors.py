"""The error family: every failure a client can see, named for its condition.

Each error knows its HTTP status, a neutral *kind* and a stable machine *code*.
It knows no wire dialect: ``wrapper.schemas.errors`` renders it as an OpenAI or an
Anthropic error body. Errors are classified once, where they arise (the request
reader, the SDK error mapping), and rendered once, by the app.

Messages are written for clients: they never carry a traceback or the text of an
internal exception.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence


class ErrorKind(enum.StrEnum):
    """What went wrong, independent of any dialect's vocabulary."""

    INVALID_REQUEST = "invalid_request"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    OVERLOADED = "overloaded"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    UPSTREAM = "upstream"
    NOT_SUPPORTED = "not_supported"
    INTERNAL = "internal"


class WrapperError(Exception):
    """Base of every error this server reports to a client."""

    status: int = 500
    kind: ErrorKind = ErrorKind.INTERNAL
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.retry_after = retry_after
        self.extra_headers: tuple[tuple[str, str], ...] = tuple(headers)

    def response_headers(self) -> list[tuple[str, str]]:
        """Headers the error adds to its response (``Retry-After`` and extras)."""
        headers = list(self.extra_headers)
        if self.retry_after is not None:
            headers.append(("retry-after", str(max(1, round(self.retry_after + 0.499)))))
        return headers


class InvalidRequestError(WrapperError):
    """The request is malformed or violates the schema (400)."""

    status = 400
    kind = ErrorKind.INVALID_REQUEST
    code = "invalid_request"


class AuthenticationError(WrapperError):
    """The client did not present the server's API key (401)."""

    status = 401
    kind = ErrorKind.AUTHENTICATION
    code = "invalid_api_key"


class UpstreamAuthenticationError(WrapperError):
    """Claude rejected the server's own credentials (401)."""

    status = 401
    kind = ErrorKind.AUTHENTICATION
    code = "upstream_authentication_failed"


class PermissionDeniedError(WrapperError):
    """The credentials are valid but not allowed to do this (403)."""

    status = 403
    kind = ErrorKind.PERMISSION
    code = "permission_denied"


class NotFoundError(WrapperError):
    """No such route or resource (404)."""

    status = 404
    kind = ErrorKind.NOT_FOUND
    code = "not_found"


class MethodNotAllowedError(WrapperError):
    """The route exists but not for this method (405, with ``Allow``)."""

    status = 405
    kind = ErrorKind.METHOD_NOT_ALLOWED
    code = "method_not_allowed"

    def __init__(self, method: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"Method {method} is not allowed here; use {', '.join(allowed)}.",
            headers=[("allow", ", ".join(allowed))],
        )
        self.allowed = tuple(allowed)


class RequestTimeoutError(WrapperError):
    """The client did not send its request body in time (408)."""

    status = 408
    kind = ErrorKind.INVALID_REQUEST
    code = "request_timeout"


class ConflictError(WrapperError):
    """The resource is busy with another request (409)."""

    status = 409
    kind = ErrorKind.CONFLICT
    code = "conflict"


class PayloadTooLargeError(WrapperError):
    """The request body exceeds ``MAX_REQUEST_SIZE`` (413)."""

    status = 413
    kind = ErrorKind.PAYLOAD_TOO_LARGE
    code = "request_too_large"


class UnsupportedMediaTypeError(WrapperError):
    """The body is not in a media type the route accepts (415)."""

    status = 415
    kind = ErrorKind.INVALID_REQUEST
    code = "unsupported_media_type"


class RateLimitedError(WrapperError):
    """This server's own limits refused the request (429, with ``Retry-After``)."""

    status = 429
    kind = ErrorKind.RATE_LIMITED
    code = "rate_limit_exceeded"


class UpstreamRateLimitedError(WrapperError):
    """Claude's API refused the request for rate or quota reasons (429)."""

    status = 429
    kind = ErrorKind.RATE_LIMITED
    code = "upstream_rate_limited"


class UsageLimitError(UpstreamRateLimitedError):
    """The Claude plan's usage window is used up (429, ``Retry-After`` until it resets)."""

    code = "usage_limit_reached"


class ExtraUsageRefusedError(WrapperError):
    """Claude refused for billing: extra usage is off or spent, or credit is too low.

    Waiting a few seconds does not help, so clients are told not to retry. OpenAI
    answers this case with a 429 ``insufficient_quota``, Anthropic with a 402
    ``billing_error`` (``wrapper.schemas.errors`` renders each).
    """

    status = 429
    kind = ErrorKind.QUOTA_EXHAUSTED
    code = "insufficient_quota"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers=[("x-should-retry", "false")])


class UpstreamOverloadedError(WrapperError):
    """Claude's API is overloaded (503 for OpenAI clients, 529 for Anthropic ones)."""

    status = 503
    kind = ErrorKind.OVERLOADED
    code = "upstream_overloaded"


class BackendUnavailableError(WrapperError):
    """This server cannot take the request now: busy, breaker open, shutting down (503)."""

    status = 503
    kind = ErrorKind.UNAVAILABLE
    code = "service_unavailable"


class BackendTimeoutError(WrapperError):
    """The turn ran past ``MAX_TIMEOUT`` (504)."""

    status = 504
    kind = ErrorKind.TIMEOUT
    code = "timeout"


class UpstreamError(WrapperError):
    """Claude Code or Claude's API failed in a way the client cannot fix (502)."""

    status = 502
    kind = ErrorKind.UPSTREAM
    code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, retry_after=retry_after)
        self.upstream_status = upstream_status


class NotSupportedError(WrapperError):
    """This server cannot do that in its configuration (501); a retry will not help."""

    status = 501
    kind = ErrorKind.NOT_SUPPORTED
    code = "not_supported"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, param=param, headers=[("x-should-retry", "false")])


class InternalError(WrapperError):
    """A bug in this server (500); logged with its traceback, never shown."""

    status = 500
    kind = ErrorKind.INTERNAL
    code = "internal_error"
