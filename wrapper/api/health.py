"""``GET /health`` (liveness), ``GET /healthz/ready`` (readiness) and ``GET /version``:
no upstream call, no auth."""

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


class Readiness(msgspec.Struct):
    """``ready``, or ``starting`` while the pool's first warm process is still starting
    (and once the pool has closed, at shutdown)."""

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

    async def ready(self, request: Request) -> Response:
        """200 once a request would find a warm process; 503 with ``Retry-After``
        before, so that a load balancer or an orchestrator sends a new replica no
        request that would wait for the pool's first start (~0.4-0.8 s)."""
        if self.ctx.engine.pool.ready:
            return json_response(Readiness(status="ready"))
        return json_response(
            Readiness(status="starting"), status=503, headers=[("retry-after", "1")]
        )

    async def version(self, request: Request) -> Response:
        return json_response(
            Version(
                version=__version__,
                sdk_version=self.ctx.versions.sdk,
                cli_version=self.ctx.versions.cli,
            )
        )
