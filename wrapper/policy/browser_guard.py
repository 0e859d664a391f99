"""What keeps a web page in the user's browser from using a server that has no API_KEY.

Without a key, the only thing between a page on any site and the user's Claude
plan is what a browser lets that page send. A browser sends a ``text/plain``,
form or body-only POST to any address without asking first (no preflight), and
a page on a name that resolves to 127.0.0.1 (DNS rebinding) can even read the
answers. So, with no ``API_KEY``:

* a POST with a JSON body must say ``Content-Type: application/json`` (or
  ``+json``), which a browser only sends after a CORS preflight that the
  default CORS policy (no origins) never grants: anything else is a 415;
* the API (every route that would need the key) answers only requests whose
  ``Host`` is a loopback name (``localhost``, ``*.localhost``, ``127.0.0.0/8``,
  ``::1``) or one the operator lists in ``ALLOWED_HOSTS``: anything else is a 403.

With a key, the key is the protection; ``ALLOWED_HOSTS``, when set, still applies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from wrapper.errors import PermissionDeniedError, UnsupportedMediaTypeError
from wrapper.http.request import Request
from wrapper.http.routing import Route

_ANY = "*"


def host_name(header: str) -> str:
    """The name in a ``Host`` header: no port, no brackets, lower case, no final dot."""
    value = header.strip().lower()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def is_loopback(name: str) -> bool:
    """Whether ``name`` can only mean this machine."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` names JSON (``application/json`` or ``*/*+json``)."""
    if not content_type:
        return False
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class BrowserGuard:
    """The Host and content-type rules of a server (see the module docstring)."""

    def __init__(
        self, *, keyless: bool = False, allowed_hosts: Sequence[str] | None = None
    ) -> None:
        self.keyless = keyless
        self.allowed_hosts = (
            None if allowed_hosts is None else frozenset(host_name(h) for h in allowed_hosts)
        )

    @property
    def checks_hosts(self) -> bool:
        return self.keyless or self.allowed_hosts is not None

    def check(self, request: Request, route: Route) -> None:
        """Refuse ``request`` if it breaks a rule.

        Raises:
            PermissionDeniedError: the ``Host`` is not one this server answers (403).
            UnsupportedMediaTypeError: a JSON body without a JSON content type (415).
        """
        if route.auth and self.checks_hosts:
            self._check_host(request.headers.get("host"))
        if self.keyless and request.method == "POST" and _takes_json(route):
            content_type = request.headers.get("content-type")
            if not is_json_media_type(content_type):
                raise UnsupportedMediaTypeError(
                    f"Send the body as Content-Type: application/json (got {content_type!r}).",
                    param="content-type",
                )

    def _check_host(self, header: str | None) -> None:
        if header is None:  # not a browser: every browser sends Host (or :authority)
            return
        name = host_name(header)
        allowed = self.allowed_hosts or frozenset()
        if _ANY in allowed or name in allowed or is_loopback(name):
            return
        rule = "without API_KEY it answers only" if self.keyless else "it answers"
        raise PermissionDeniedError(
            f"This server does not answer for the host {name!r}: {rule} loopback names "
            "(localhost, 127.0.0.1, ::1) and those listed in ALLOWED_HOSTS.",
            code="host_not_allowed",
        )


def _takes_json(route: Route) -> bool:
    return route.doc is not None and route.doc.body is not None
