"""``GET /health`` (liveness, no upstream call, no auth) and ``GET /version``."""

from __future__ import annotations

import msgspec

from wrapper import __version__
from wrapper.api.context import AppContext
from wrapper.http.request import Request
from wrapper.http.responses import Response, json_response

SERVICE = "claude-wrapper"


class Health(msgspec.Struct):
    status: str
    service: str = SERVICE


class Version(msgspec.Struct):
    version: str
    sdk_version: str
    cli_version: str
    service: str = SERVICE
    api_version: str = "v1"


class HealthAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def health(self, request: Request) -> Response:
        return json_response(Health(status="healthy"))

    async def version(self, request: Request) -> Response:
        return json_response(
            Version(
                version=__version__,
                sdk_version=self.ctx.versions.sdk,
                cli_version=self.ctx.versions.cli,
            )
        )
