"""Who may call the ``/v1`` routes: the client API key (``API_KEY``).

A key is presented as ``Authorization: Bearer <key>`` or ``x-api-key: <key>`` (the
OpenAI and the Anthropic clients' own ways) and compared in constant time.
Without a configured key every route is open (the app warns at startup).
"""

from __future__ import annotations

import hmac

from wrapper.errors import AuthenticationError
from wrapper.http.request import Request

_CHALLENGE = ("www-authenticate", 'Bearer realm="claude-wrapper"')


def presented_key(request: Request) -> str | None:
    """The key the request presents, if any (``x-api-key`` first, then a bearer token)."""
    presented = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    if presented is None and authorization[:7].lower() == "bearer ":
        presented = authorization[7:].strip()
    return presented


class ApiKeys:
    """Checks a request's key against the configured one."""

    def __init__(self, api_key: str | None) -> None:
        self._expected = api_key.encode("utf-8") if api_key else None

    @property
    def required(self) -> bool:
        return self._expected is not None

    def authenticate(self, request: Request) -> None:
        """Pass a request that presents the key (any request when none is configured).

        Raises:
            AuthenticationError: the key is missing or wrong (401, with a challenge).
        """
        if self._expected is None:
            return
        presented = presented_key(request)
        if presented is None or not hmac.compare_digest(presented.encode("utf-8"), self._expected):
            raise AuthenticationError(
                "Missing or invalid API key: send Authorization: Bearer <API_KEY> or x-api-key.",
                headers=[_CHALLENGE],
            )
