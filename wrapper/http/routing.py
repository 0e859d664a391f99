"""A small route table: literal segments and ``{name}`` parameters, matched per method.

A path that matches no route raises :class:`NotFoundError`; a path that matches
only for other methods raises :class:`MethodNotAllowedError` listing them (the
app turns that into ``405`` with ``Allow``). Every route names its endpoint
*group* (for rate limits and metrics) and its error *dialect*, and carries a
:class:`Doc`: the types its handler uses, from which ``wrapper.openapi`` writes
the OpenAPI document.

Literal segments are tried before ``{name}`` ones, so ``/v1/models/status``
wins over ``/v1/models/{model_id}`` wherever either appears in the table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from wrapper.errors import MethodNotAllowedError, NotFoundError
from wrapper.http.request import Request
from wrapper.http.responses import Response
from wrapper.schemas.errors import Dialect

Handler = Callable[[Request], Awaitable[Response]]


class Doc:
    """What the OpenAPI document says of a route: the types its handler really uses.

    ``body`` is the msgspec type the handler decodes the request body with,
    ``response`` the type of its 200 body, ``stream`` the type of each SSE
    event's data when the request asks for ``"stream": true`` (a union of the
    dialect's event Structs). ``media_type`` names a body that is not JSON (its
    schema is then a string). ``statuses`` adds other documented answers (a
    status and the type of its body); error bodies come from the route's
    dialect and need no entry. ``query`` names query parameters and says what
    each does. ``example`` is an example request body; ``head`` documents the
    ``HEAD`` the router serves with this ``GET``.
    """

    __slots__ = ("body", "description", "example", "head", "media_type", "query", "response",
                 "statuses", "stream", "summary")  # fmt: skip

    def __init__(
        self,
        summary: str,
        *,
        body: Any = None,
        response: Any = None,
        stream: Any = None,
        media_type: str = "application/json",
        statuses: Mapping[int, Any] | None = None,
        query: Mapping[str, str] | None = None,
        description: str = "",
        example: Any = None,
        head: bool = False,
    ) -> None:
        self.summary = summary
        self.body = body
        self.response = response
        self.stream = stream
        self.media_type = media_type
        self.statuses: Mapping[int, Any] = dict(statuses or {})
        self.query: Mapping[str, str] = dict(query or {})
        self.description = description
        self.example = example
        self.head = head


class Route:
    """One method and path pattern, bound to a handler (and described by its :class:`Doc`).

    ``admin`` marks an operation only admin keys may call: the app refuses a user
    key with 403 before the handler runs.
    """

    __slots__ = ("admin", "auth", "dialect", "doc", "group", "handler", "method", "name",
                 "pattern", "segments")  # fmt: skip

    def __init__(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        *,
        name: str,
        group: str = "general",
        dialect: Dialect = "openai",
        auth: bool = True,
        admin: bool = False,
        doc: Doc | None = None,
    ) -> None:
        if not pattern.startswith("/"):
            raise ValueError(f"route pattern must start with '/': {pattern!r}")
        self.method = method.upper()
        self.pattern = pattern
        self.handler = handler
        self.name = name
        self.group = group
        self.dialect: Dialect = dialect
        self.auth = auth
        self.admin = admin
        self.doc = doc
        self.segments = tuple(pattern.strip("/").split("/")) if pattern != "/" else ()

    @property
    def specificity(self) -> tuple[bool, ...]:
        """Sorts literal segments before parameters, position by position."""
        return tuple(_is_param(segment) for segment in self.segments)

    def match(self, parts: Sequence[str]) -> dict[str, str] | None:
        """Path parameters if ``parts`` fit this pattern, else ``None``."""
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for segment, part in zip(self.segments, parts, strict=True):
            if _is_param(segment):
                if not part:
                    return None
                params[segment[1:-1]] = part
            elif segment != part:
                return None
        return params


class Router:
    """Matches a method and path against the route table."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(sorted(routes, key=lambda route: route.specificity))

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``method path`` and its path parameters.

        ``HEAD`` is served by a ``GET`` route.

        Raises:
            NotFoundError: no route has this path.
            MethodNotAllowedError: routes have this path, but not this method.
        """
        parts = _split(path)
        allowed: list[str] = []
        for route in self.routes:
            params = route.match(parts)
            if params is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, params
            allowed.append(route.method)
        if allowed:
            raise MethodNotAllowedError(method, sorted(set(allowed)))
        raise NotFoundError(f"No route for {path}; see GET /v1/models and the README.")

    def dialect_for(self, path: str) -> Dialect:
        """The error dialect of the routes under ``path`` (for 404/405 bodies)."""
        parts = _split(path)
        for route in self.routes:
            if route.match(parts) is not None:
                return route.dialect
        return "anthropic" if path.startswith("/v1/messages") else "openai"


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _split(path: str) -> tuple[str, ...]:
    stripped = path.strip("/")
    return tuple(stripped.split("/")) if stripped else ()
