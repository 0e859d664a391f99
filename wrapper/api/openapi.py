"""``GET /openapi.json``: the OpenAPI 3.1 document of this server's route table."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from wrapper import __version__
from wrapper.errors import BackendUnavailableError
from wrapper.http.request import Request
from wrapper.http.responses import JSONResponse, Response
from wrapper.http.routing import Route
from wrapper.openapi import openapi_document

TITLE = "claude-wrapper"
DESCRIPTION = (
    "OpenAI- and Anthropic-compatible HTTP API for Claude, served through Claude Code. "
    "Every `/v1` endpoint needs the server's API_KEY when one is set; the landing page, "
    "this document, `/docs`, `/health` and `/version` are public."
)


class OpenAPIAPI:
    """Serves the document of a finished route table (given by :meth:`describe`)."""

    def __init__(self) -> None:
        self._body: bytes | None = None

    def describe(self, routes: Sequence[Route]) -> None:
        """Write the document for ``routes`` (the whole table, this route included)."""
        document = openapi_document(
            routes, title=TITLE, version=__version__, description=DESCRIPTION
        )
        self._body = msgspec.json.encode(document)

    async def document(self, request: Request) -> Response:
        if self._body is None:
            raise BackendUnavailableError("The API description is not ready.", retry_after=1)
        return JSONResponse(self._body, headers=[("cache-control", "no-cache")])
