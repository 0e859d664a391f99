"""The ASGI application: lifespan, dispatch, auth, CORS, rendering, request logging.

Handlers return response values and never call ``send``; this module sends
them, renders every :class:`WrapperError` in the route's dialect, and is the
last-resort handler (log with traceback, answer 500, never leak the text).
Dependencies are built in the lifespan and live in one :class:`AppContext`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import anyio
import anyio.abc
import structlog

from wrapper.api.context import AppContext
from wrapper.api.routes import build_router
from wrapper.config import ConfigError, Settings, load_settings
from wrapper.errors import (
    BackendUnavailableError,
    InternalError,
    NotFoundError,
    WrapperError,
)
from wrapper.http.asgi_types import Receive, Scope, Send
from wrapper.http.error_pages import render_error
from wrapper.http.pump import pump_stream
from wrapper.http.request import ClientDisconnectedError, Request
from wrapper.http.responses import (
    Headers,
    JSONResponse,
    Response,
    StreamResponse,
    body_message,
    start_message,
)
from wrapper.http.routing import Route, Router
from wrapper.logging import configure_logging, get_logger
from wrapper.schemas.errors import Dialect
from wrapper.taskgroups import first_error
from wrapper.wiring.lifespan import LifespanStack
from wrapper.wiring.root import build_context

log = get_logger(__name__)

ContextFactory = Callable[[Settings, LifespanStack], Awaitable[AppContext]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_OPEN_WARNING = (
    "No API_KEY or API_KEYS is set: every /v1 endpoint is open to anyone who can reach it."
)


class App:
    """The hand-written ASGI app. ``wrapper.asgi.app`` is its one instance."""

    def __init__(
        self,
        settings: Settings | None = None,
        context_factory: ContextFactory | None = None,
    ) -> None:
        self._settings_override = settings
        # Builds the AppContext in the lifespan; tests pass one that wires a fake backend.
        self._context_factory: ContextFactory = context_factory or build_context
        self.ctx: AppContext | None = None
        self.router: Router | None = None
        self._stack: LifespanStack | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        # The app's background work (pool housekeeping, probes, sweeps) runs in this
        # task group for the app's whole life; it is the outermost scope of the
        # lifespan task, so components never enter or exit task groups of their own.
        async with anyio.create_task_group() as background:
            try:
                await self.startup(background)
            except ConfigError as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                background.cancel_scope.cancel()
                return
            except Exception as exc:
                log.exception("app.startup_failed")
                await send({"type": "lifespan.startup.failed", "message": f"startup failed: {exc}"})
                background.cancel_scope.cancel()
                return
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            final = self._stack.final if self._stack is not None else []
            await self.shutdown()
            background.cancel_scope.cancel()
        # With the background work stopped nothing can start a CLI process any more:
        # the last steps of shutdown run now.
        with anyio.CancelScope(shield=True):
            for step in final:
                await step()
        if message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})

    async def startup(self, background: anyio.abc.TaskGroup) -> None:
        """Read settings, configure logging, build the backend and the routes.

        ``background`` is the task group the app's background work runs in (the
        lifespan's); it reaches the context factory as ``LifespanStack.background``.
        """
        settings = self._settings_override or load_settings()
        configure_logging(
            settings.log_format, "debug" if settings.debug_mode else settings.log_level
        )
        stack = LifespanStack(background)
        await stack.__aenter__()
        try:
            self.ctx = await self._context_factory(settings, stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self.router = build_router(self.ctx)
        if not self.ctx.ops.api_keys.required:
            log.warning("app.api_open", message=_OPEN_WARNING)
        log.info(
            "app.started",
            default_model=self.ctx.models.default_model,
            cwd=settings.claude_cwd or "isolated temp dir",
        )

    async def shutdown(self) -> None:
        """Release what startup built (the backend, temp dirs)."""
        if self._stack is not None:
            stack, self._stack = self._stack, None
            with anyio.CancelScope(shield=True):
                await stack.aclose()
        log.info("app.stopped")

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        inbound_id = _header(scope, b"x-request-id")
        request_id = inbound_id if inbound_id and _REQUEST_ID.match(inbound_id) else None
        request_id = request_id or f"req_{uuid.uuid4().hex}"
        request = Request(scope, receive, request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        route: Route | None = None
        extra = ""
        state = _DispatchState(
            dialect="anthropic" if request.path.startswith("/v1/messages") else "openai"
        )
        try:
            status, route, extra = await self._dispatch(request, receive, send, state)
        except anyio.get_cancelled_exc_class():
            # Cut by the server: a response still running when the shutdown grace period
            # ended (or a dropped connection). Not a server error.
            status, route, extra = 499, state.route, "cancelled"
            raise
        finally:
            log.info(
                "request.completed",
                method=request.method,
                path=request.path,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                route=route.name if route else None,
                client=request.client_ip,
                **({"outcome": extra} if extra else {}),
            )
            if self.ctx is not None:
                self.ctx.ops.hooks.finish(
                    route,
                    request.method,
                    status,
                    time.perf_counter() - started,
                    streamed=state.streamed,
                )
            structlog.contextvars.unbind_contextvars("request_id")

    def _base_headers(self, request: Request) -> Headers:
        headers: Headers = [("x-request-id", request.request_id)]
        if self.ctx is not None:
            headers += self.ctx.ops.cors.headers(request)
        return headers

    async def _dispatch(
        self, request: Request, receive: Receive, send: Send, state: _DispatchState
    ) -> tuple[int, Route | None, str]:
        """Serve ``request``; returns (status, route, outcome) for the request log."""
        headers = self._base_headers(request)
        try:
            status = await self._serve(request, receive, send, headers, state)
        except ClientDisconnectedError:
            return 499, state.route, "client_disconnected"
        except WrapperError as error:
            rendered = render_error(error, state.dialect, request.request_id)
            await _send_json(send, rendered, headers)
            return rendered.status, state.route, error.code
        except Exception:
            log.exception("request.failed")
            internal = InternalError("The server failed to handle this request.")
            rendered = render_error(internal, state.dialect, request.request_id)
            await _send_json(send, rendered, headers)
            return rendered.status, state.route, "internal_error"
        return status, state.route, "client_disconnected" if status == 499 else ""

    async def _serve(
        self,
        request: Request,
        receive: Receive,
        send: Send,
        headers: Headers,
        state: _DispatchState,
    ) -> int:
        router, ctx = self.router, self.ctx
        if router is None or ctx is None:
            raise BackendUnavailableError("The server is starting or stopping.", retry_after=1)
        state.dialect = router.dialect_for(request.path)
        if state.dialect == "anthropic":
            # Anthropic clients read the id from ``request-id``, errors (404/405) included.
            headers.append(("request-id", request.request_id))
        if request.method == "OPTIONS":
            return await self._preflight(ctx, request, router, headers, send)
        route, request.path_params = router.resolve(request.method, request.path)
        state.route = route
        state.dialect = route.dialect
        # Rate limits and the client's address come before auth, the login gate after it.
        hooks = ctx.ops.hooks
        headers += await hooks.admit(request, route)
        if route.auth:
            ctx.ops.api_keys.authenticate(request)
        if route.admin:
            ctx.ops.api_keys.require_admin(request.caller, f"{route.method} {route.pattern}")
        hooks.gate(route)
        await ctx.ops.usage.admit(request.caller, route.group)
        if request.method in _BODY_METHODS:
            await request.body(ctx.settings.max_request_size, ctx.settings.body_timeout_s)
        response = await _run_watched(route.handler, request, receive)
        if response is None:
            return 499
        if isinstance(response, StreamResponse):
            hooks.stream_started()
            state.streamed = True
            return await self._stream(
                ctx,
                request,
                response,
                headers=headers,
                dialect=state.dialect,
                receive=receive,
                send=send,
            )
        await _send_json(send, response, headers, head=request.method == "HEAD")
        return response.status

    async def _preflight(
        self, ctx: AppContext, request: Request, router: Router, headers: Headers, send: Send
    ) -> int:
        methods: list[str] = []
        for method in ("GET", "POST", "DELETE"):
            try:
                router.resolve(method, request.path)
            except WrapperError:
                continue
            methods.append(method)
        if not methods:
            raise NotFoundError(f"No route for {request.path}.")
        allow = ", ".join([*methods, "OPTIONS"])
        headers = [*headers, ("allow", allow), *ctx.ops.cors.preflight(request, allow, headers)]
        await send(start_message(204, headers))
        await send(body_message(b""))
        return 204

    async def _stream(
        self,
        ctx: AppContext,
        request: Request,
        response: StreamResponse,
        *,
        headers: Headers,
        dialect: Dialect,
        receive: Receive,
        send: Send,
    ) -> int:
        outcome = await pump_stream(
            response,
            send,
            receive,
            headers=headers + response.headers,
            render_error=lambda error: render_error(error, dialect, request.request_id),
            ping_interval=ctx.settings.ping_interval_s,
            first_byte_deadline=ctx.settings.first_byte_deadline_s,
            write_timeout=ctx.settings.stream_write_timeout_s,
        )
        if outcome.disconnected:
            return 499
        return outcome.status


class _DispatchState:
    """What dispatch learned so far (for error rendering and the request log)."""

    __slots__ = ("dialect", "route", "streamed")

    def __init__(self, dialect: Dialect) -> None:
        self.dialect: Dialect = dialect
        self.route: Route | None = None
        self.streamed = False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _send_json(
    send: Send, response: JSONResponse, headers: Headers, head: bool = False
) -> None:
    all_headers = [
        *headers,
        *response.headers,
        ("content-type", response.media_type),
        ("content-length", str(len(response.body))),
    ]
    await send(start_message(response.status, all_headers))
    await send(body_message(b"" if head else response.body))


async def _run_watched(
    handler: Callable[[Request], Awaitable[Response]], request: Request, receive: Receive
) -> Response | None:
    """Run ``handler``; if the client disconnects first, cancel it and return None.

    A disconnect that arrives as the handler returns still counts: the watcher has
    consumed the only ``http.disconnect`` the server sends, so a stream started now
    would never learn that its client is gone.
    """
    result: Response | None = None
    disconnected = False

    async def watch(group: anyio.abc.TaskGroup) -> None:
        nonlocal disconnected
        while (await receive())["type"] != "http.disconnect":
            pass
        disconnected = True
        group.cancel_scope.cancel()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(watch, group)
            try:
                result = await handler(request)
            finally:
                group.cancel_scope.cancel()
    except BaseExceptionGroup as errors:
        raise first_error(errors) from None
    return None if disconnected else result
