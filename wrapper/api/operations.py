"""Operations endpoints: auth status, metrics, the response cache, debug echo, deep health.

``GET /v1/auth/status``, ``GET /metrics``, ``GET /v1/cache/stats``,
``POST /v1/cache/clear``, ``POST /v1/debug/request`` (only with ``DEBUG_MODE`` or
``VERBOSE``; 404 otherwise) and ``GET /healthz/deep``. All require the API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from wrapper import __version__
from wrapper.api.context import AppContext
from wrapper.errors import NotFoundError
from wrapper.http.request import MAX_JSON_DEPTH, Request, json_depth
from wrapper.http.responses import JSONResponse, Response, json_response
from wrapper.monitoring.metrics import CONTENT_TYPE
from wrapper.upstream.login import CliLoginStatus
from wrapper.usage.plan_windows import PlanReport

# Never echoed by the debug endpoint: credentials and anything named like one.
_SECRET_MARKERS = ("auth", "key", "cookie", "token", "secret", "password", "signature")
_MAX_DEBUG_BODY = 64 * 1024


class UpstreamAuthReport(msgspec.Struct, frozen=True, kw_only=True):
    method: str
    source: str
    configured: bool
    problems: tuple[str, ...]
    environment_variables: tuple[str, ...]


class ServerInfo(msgspec.Struct, frozen=True, kw_only=True):
    api_key_required: bool
    version: str
    client_keys: int = 0


class AuthStatus(msgspec.Struct, frozen=True, kw_only=True):
    claude_code_auth: UpstreamAuthReport
    cli_health: CliLoginStatus | None
    server_info: ServerInfo
    plan_usage: PlanReport
    caller: str


class CacheCleared(msgspec.Struct, frozen=True):
    message: str
    entries_cleared: int


class DebugInfo(msgspec.Struct, frozen=True, kw_only=True):
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    client: str
    request_id: str
    body_size: int
    body: Any = None
    body_truncated: bool = False
    body_is_json: bool = False


class DebugReport(msgspec.Struct, frozen=True):
    debug_info: DebugInfo


def _without_secrets(values: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value
        for name, value in values.items()
        if not any(marker in name.lower() for marker in _SECRET_MARKERS)
    }


class OperationsAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def auth_status(self, request: Request) -> Response:
        auth = self.ctx.upstream.auth
        report = UpstreamAuthReport(
            method=auth.method,
            source=auth.source,
            configured=auth.configured,
            problems=auth.problems,
            environment_variables=auth.variables,
        )
        cli_health = self.ctx.upstream.login.status() if auth.method == "cli" else None
        keys = self.ctx.ops.api_keys
        plan = self.ctx.ops.usage.plan
        return json_response(
            AuthStatus(
                claude_code_auth=report,
                cli_health=cli_health,
                server_info=ServerInfo(
                    api_key_required=keys.required,
                    version=__version__,
                    client_keys=len(keys.keys),
                ),
                plan_usage=plan.report(await plan.latest()),
                caller=request.caller.name,
            )
        )

    async def metrics(self, request: Request) -> Response:
        await self.ctx.ops.usage.refresh_plan_metrics()
        return JSONResponse(self.ctx.ops.metrics.render(), media_type=CONTENT_TYPE)

    async def cache_stats(self, request: Request) -> Response:
        return json_response(self.ctx.ops.cache.stats())

    async def cache_clear(self, request: Request) -> Response:
        count = self.ctx.ops.cache.clear()
        return json_response(CacheCleared(f"Cleared {count} cache entries", count))

    async def debug_request(self, request: Request) -> Response:
        settings = self.ctx.settings
        if not (settings.debug_mode or settings.verbose):
            raise NotFoundError(f"No route for {request.path}; see GET /v1/models and the README.")
        raw = await request.body(settings.max_request_size)
        body: Any = None
        is_json = False
        shown = raw[:_MAX_DEBUG_BODY]
        try:
            fits = len(raw) <= _MAX_DEBUG_BODY and json_depth(raw) <= MAX_JSON_DEPTH
            body = msgspec.json.decode(raw) if fits else None
            is_json = body is not None
        except msgspec.DecodeError:
            body = None
        if body is None and raw:
            body = shown.decode("utf-8", "replace")
        return json_response(
            DebugReport(
                DebugInfo(
                    method=request.method,
                    path=request.path,
                    query=_without_secrets(request.query),
                    headers=_without_secrets(request.headers),
                    client=request.client_ip,
                    request_id=request.request_id,
                    body_size=len(raw),
                    body=body,
                    body_truncated=len(raw) > _MAX_DEBUG_BODY,
                    body_is_json=is_json,
                )
            )
        )

    async def deep_health(self, request: Request) -> Response:
        result = await self.ctx.ops.deep_health.check()
        return json_response(result, status=200 if result.probe_ok else 503)
