"""``GET /`` and ``GET /api/hello``: a small answer for what probes the server's root.

Claude Code sends ``HEAD <ANTHROPIC_BASE_URL>/api/hello`` to warm its connection,
and people and tools open the base URL in a browser; both get a 200 that names
the service and where its API lives instead of a 404.
"""

from __future__ import annotations

import msgspec

from wrapper import __version__
from wrapper.http.request import Request
from wrapper.http.responses import Response, json_response


class Landing(msgspec.Struct, frozen=True):
    service: str = "claude-wrapper"
    version: str = __version__
    api: str = "/v1"


async def landing(request: Request) -> Response:
    return json_response(Landing())
