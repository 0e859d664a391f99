"""Cross-origin access for browsers: which origins may read responses (``CORS_ORIGINS``).

``*`` lets any origin read (never with credentials); a list lets those origins
read, with ``Vary: Origin``; an empty list sends no CORS headers at all. The
headers a client needs to see (request ids, retry hints, cost) are exposed.
"""

from __future__ import annotations

from collections.abc import Sequence

from wrapper.http.request import Request
from wrapper.http.responses import Headers

EXPOSED = ", ".join(
    (
        "x-request-id",
        "request-id",
        "retry-after",
        "x-claude-cost-usd",
        "x-claude-model",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-cache",
    )
)
_DEFAULT_ALLOWED_HEADERS = "authorization, content-type"
_MAX_AGE_S = "600"


class CorsPolicy:
    """The CORS headers of responses and preflights."""

    def __init__(self, origins: Sequence[str]) -> None:
        self.origins = tuple(origins)

    def headers(self, request: Request) -> Headers:
        """What a response to ``request`` carries for its ``Origin`` (nothing without one)."""
        origin = request.headers.get("origin")
        if not origin or not self.origins:
            return []
        headers: Headers = []
        if "*" in self.origins:
            headers.append(("access-control-allow-origin", "*"))
        elif origin in self.origins:
            headers += [("access-control-allow-origin", origin), ("vary", "origin")]
        headers.append(("access-control-expose-headers", EXPOSED))
        return headers

    def preflight(self, request: Request, allow: str, headers: Headers) -> Headers:
        """The extra headers of a preflight answer, when ``headers`` let the origin in."""
        if not any(name == "access-control-allow-origin" for name, _ in headers):
            return []
        requested = request.headers.get("access-control-request-headers", "")
        return [
            ("access-control-allow-methods", allow),
            ("access-control-allow-headers", requested or _DEFAULT_ALLOWED_HEADERS),
            ("access-control-max-age", _MAX_AGE_S),
        ]
