"""The ASGI app in-process: lifespan, routing errors, body limit, auth, request ids, CORS."""

from __future__ import annotations

import re
from typing import Any

import anyio
import pytest

from tests.asgi.driver import (
    DEFAULT_MODEL,
    Exchange,
    json_body,
    make_app,
    quiet_settings,
    started,
)
from tests.fakes.backend import FakeBackend, text_events
from wrapper.api.context import AppContext
from wrapper.app import App, _run_watched
from wrapper.backend.pool_view import NoPool
from wrapper.config import ConfigError, Settings
from wrapper.http.request import Request
from wrapper.http.responses import JSONResponse, Response
from wrapper.wiring.lifespan import LifespanStack

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
HELLO = json_body({"messages": [{"role": "system", "content": "Be terse."},
                                {"role": "user", "content": "hi"}]})  # fmt: skip


def _backend() -> FakeBackend:
    return FakeBackend(text_events("Hello", " there"))


# --------------------------------------------------------------------------------------
# Lifespan


class _Lifespan:
    def __init__(self) -> None:
        self.incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        return self.incoming.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


async def test_lifespan_startup_and_shutdown() -> None:
    app, wiring = make_app(_backend())
    lifespan = _Lifespan()
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan.receive, lifespan.send)
    assert [m["type"] for m in lifespan.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert wiring.built == 1
    assert wiring.released == 1


async def test_lifespan_startup_failure_names_the_variable() -> None:
    async def factory(settings: Settings, stack: LifespanStack) -> AppContext:
        raise ConfigError("PORT='x' is not valid: expected a port number")

    app = App(quiet_settings(), context_factory=factory)
    lifespan = _Lifespan()
    await app({"type": "lifespan"}, lifespan.receive, lifespan.send)
    assert lifespan.sent == [
        {
            "type": "lifespan.startup.failed",
            "message": "PORT='x' is not valid: expected a port number",
        }
    ]


async def test_requests_before_startup_get_503() -> None:
    app, _ = make_app(_backend())
    exchange = await Exchange("GET", "/v1/models").run(app)
    assert exchange.status == 503
    assert exchange.headers["retry-after"] == "1"


async def test_websockets_are_closed() -> None:
    app, _ = make_app(_backend())
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "websocket", "path": "/"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1003}]


# --------------------------------------------------------------------------------------
# Routing errors and plain endpoints


async def test_unknown_route_is_a_json_404() -> None:
    app, _ = make_app(_backend())
    async with started(app):
        exchange = await Exchange("GET", "/v2/nothing").run(app)
    assert exchange.status == 404
    assert exchange.headers["content-type"] == "application/json"
    assert int(exchange.headers["content-length"]) == len(exchange.body)
    error = exchange.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "not_found"


async def test_wrong_method_is_a_json_405_with_allow() -> None:
    app, _ = make_app(_backend())
    async with started(app):
        exchange = await Exchange("DELETE", "/health").run(app)
        chat = await Exchange("GET", CHAT).run(app)
    assert exchange.status == 405
    assert exchange.headers["allow"] == "GET"
    assert exchange.json()["error"]["code"] == "method_not_allowed"
    assert chat.status == 405
    assert chat.headers["allow"] == "POST"


class _WarmingPool(NoPool):
    """A pool view whose first warm process is still starting until ``up`` is set."""

    def __init__(self) -> None:
        self.up = False

    @property
    def enabled(self) -> bool:
        return True

    @property
    def ready(self) -> bool:
        return self.up


async def test_readiness_waits_for_the_pools_first_warm_process_and_needs_no_key() -> None:
    pool = _WarmingPool()
    app, _ = make_app(_backend(), quiet_settings(api_key="secret"), pool=pool)
    async with started(app):
        starting = await Exchange("GET", "/healthz/ready").run(app)
        live = await Exchange("GET", "/health").run(app)
        pool.up = True
        ready = await Exchange("GET", "/healthz/ready").run(app)
    assert starting.status == 503
    assert starting.headers["retry-after"] == "1"
    assert starting.json() == {"status": "starting", "service": "claude-wrapper"}
    assert live.status == 200  # liveness does not wait for the pool
    assert ready.status == 200
    assert ready.json() == {"status": "ready", "service": "claude-wrapper"}


async def test_the_root_and_claude_codes_probe_answer_without_a_key() -> None:
    app, _ = make_app(_backend(), quiet_settings(api_key="secret"))
    async with started(app):
        root = await Exchange("GET", "/").run(app)
        hello = await Exchange("GET", "/api/hello").run(app)
        probe = await Exchange("HEAD", "/api/hello").run(app)
    assert root.status == 200
    assert root.headers["content-type"].startswith("text/html")
    assert hello.json()["api"] == "/v1"
    assert probe.status == 200
    assert probe.body == b""


async def test_health_version_models_and_head() -> None:
    app, _ = make_app(_backend())
    async with started(app):
        health = await Exchange("GET", "/health").run(app)
        head = await Exchange("HEAD", "/health").run(app)
        version = await Exchange("GET", "/version").run(app)
        models = await Exchange("GET", "/v1/models").run(app)
        one = await Exchange("GET", "/v1/models/claude-sonnet-4-6").run(app)
        missing = await Exchange("GET", "/v1/models/gpt-nope").run(app)
    assert health.status == 200
    assert health.json()["status"] == "healthy"
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-length"] == health.headers["content-length"]
    assert {"version", "sdk_version", "cli_version"} <= set(version.json())
    listing = models.json()
    assert listing["object"] == "list"
    assert all(model["object"] == "model" for model in listing["data"])
    assert one.json()["id"] == "claude-sonnet-4-6"
    assert missing.status == 404
    assert missing.json()["error"]["code"] == "model_not_found"


async def test_non_stream_chat_completion() -> None:
    backend = _backend()
    app, _ = make_app(backend)
    async with started(app):
        exchange = await Exchange("POST", CHAT, body=HELLO).run(app)
    assert exchange.status == 200, exchange.body
    body = exchange.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == DEFAULT_MODEL
    assert body["choices"][0]["message"]["content"] == "Hello there"
    assert backend.turns[0].system == "Be terse."
    assert backend.exits == ["normal"]


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        (b"{not json", 400, None),
        (b"", 400, None),
        (json_body({"messages": "nope"}), 400, "messages"),
        (json_body({"messages": [{"role": "user", "content": "x"}], "logprobs": True}), 400,
         "logprobs"),
    ],
)  # fmt: skip
async def test_bad_requests_are_400_in_the_openai_shape(
    body: bytes, status: int, param: str | None
) -> None:
    backend = _backend()
    app, _ = make_app(backend)
    async with started(app):
        exchange = await Exchange("POST", CHAT, body=body).run(app)
    assert exchange.status == status
    error = exchange.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert backend.turns == []


async def test_an_unexpected_failure_is_a_500_without_its_text() -> None:
    backend = FakeBackend([RuntimeError("secret internal detail /home/x")])
    app, _ = make_app(backend)
    async with started(app):
        exchange = await Exchange("POST", CHAT, body=HELLO).run(app)
    assert exchange.status == 500
    assert b"secret" not in exchange.body
    assert exchange.json()["error"]["type"] == "server_error"
    assert backend.open_turns == 0


# --------------------------------------------------------------------------------------
# Body size limit


async def test_a_chunked_body_over_the_limit_is_413() -> None:
    backend = _backend()
    app, _ = make_app(backend, quiet_settings(max_request_size=100))
    async with started(app):
        exchange = await Exchange("POST", CHAT, body=[b"x" * 60, b"x" * 60, b"x" * 60]).run(app)
    assert exchange.status == 413
    assert exchange.json()["error"]["code"] == "request_too_large"
    assert "MAX_REQUEST_SIZE" in exchange.json()["error"]["message"]
    assert backend.turns == []


async def test_a_declared_length_over_the_limit_is_413() -> None:
    app, _ = make_app(_backend(), quiet_settings(max_request_size=10))
    async with started(app):
        exchange = await Exchange(
            "POST", CHAT, headers=[("content-length", "11")], body=b"x" * 11
        ).run(app)
    assert exchange.status == 413


async def test_a_body_at_the_limit_is_read() -> None:
    app, _ = make_app(_backend(), quiet_settings(max_request_size=len(HELLO)))
    async with started(app):
        exchange = await Exchange("POST", CHAT, body=[HELLO[:10], HELLO[10:]]).run(app)
    assert exchange.status == 200


# --------------------------------------------------------------------------------------
# Auth


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([], 401),
        ([("authorization", "Bearer wrong")], 401),
        ([("authorization", "Bearer s3cret-longer")], 401),
        ([("authorization", "Bearer s3cre")], 401),
        ([("authorization", "Basic s3cret")], 401),
        ([("authorization", "Bearer \u00e9t\u00e9")], 401),
        ([("x-api-key", "")], 401),
        ([("authorization", "Bearer s3cret")], 200),
        ([("authorization", "bearer   s3cret ")], 200),
        ([("x-api-key", "s3cret")], 200),
    ],
)
async def test_api_key_is_required_on_v1_routes(
    headers: list[tuple[str, str]], status: int
) -> None:
    app, _ = make_app(_backend(), quiet_settings(api_key="s3cret"))
    async with started(app):
        exchange = await Exchange("GET", "/v1/models", headers=headers).run(app)
    assert exchange.status == status
    if status == 401:
        assert exchange.json()["error"]["type"] == "authentication_error"
        assert exchange.headers["www-authenticate"].startswith("Bearer")


async def test_auth_is_checked_before_the_body_is_read() -> None:
    backend = _backend()
    app, _ = make_app(backend, quiet_settings(api_key="s3cret", max_request_size=10))
    async with started(app):
        exchange = await Exchange("POST", CHAT, body=b"x" * 100).run(app)
    assert exchange.status == 401
    assert backend.turns == []


async def test_health_needs_no_key() -> None:
    app, _ = make_app(_backend(), quiet_settings(api_key="s3cret"))
    async with started(app):
        assert (await Exchange("GET", "/health").run(app)).status == 200
        assert (await Exchange("GET", "/version").run(app)).status == 200


# --------------------------------------------------------------------------------------
# Request ids


async def test_a_valid_request_id_is_echoed() -> None:
    app, _ = make_app(_backend())
    async with started(app):
        exchange = await Exchange("GET", "/health", headers=[("X-Request-Id", "abc-123")]).run(app)
        error = await Exchange("GET", "/nope", headers=[("x-request-id", "e.1:2_3")]).run(app)
    assert exchange.headers["x-request-id"] == "abc-123"
    assert error.headers["x-request-id"] == "e.1:2_3"


@pytest.mark.parametrize("inbound", [None, "has space", "x" * 129, "new\\nline", ""])
async def test_a_missing_or_unsafe_request_id_is_replaced(inbound: str | None) -> None:
    app, _ = make_app(_backend())
    headers = [] if inbound is None else [("x-request-id", inbound)]
    async with started(app):
        first = await Exchange("GET", "/health", headers=headers).run(app)
        second = await Exchange("GET", "/health", headers=headers).run(app)
    generated = first.headers["x-request-id"]
    assert re.fullmatch(r"req_[0-9a-f]{32}", generated)
    assert generated != second.headers["x-request-id"]


# --------------------------------------------------------------------------------------
# CORS


async def test_preflight_for_an_allowed_origin() -> None:
    app, _ = make_app(_backend(), quiet_settings(cors_origins=("https://app.example",)))
    async with started(app):
        exchange = await Exchange(
            "OPTIONS",
            CHAT,
            headers=[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization, x-claude-effort"),
            ],
        ).run(app)
    assert exchange.status == 204
    headers = exchange.headers
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["vary"] == "origin"
    assert headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert headers["access-control-allow-headers"] == "authorization, x-claude-effort"
    assert headers["access-control-max-age"] == "600"
    assert exchange.body == b""


async def test_preflight_needs_no_api_key() -> None:
    app, _ = make_app(_backend(), quiet_settings(api_key="k", cors_origins=("*",)))
    async with started(app):
        exchange = await Exchange("OPTIONS", CHAT, headers=[("origin", "https://x")]).run(app)
    assert exchange.status == 204
    assert exchange.headers["access-control-allow-origin"] == "*"


async def test_preflight_for_another_origin_gets_no_cors_headers() -> None:
    app, _ = make_app(_backend(), quiet_settings(cors_origins=("https://app.example",)))
    async with started(app):
        exchange = await Exchange("OPTIONS", CHAT, headers=[("origin", "https://evil")]).run(app)
    assert exchange.status == 204
    assert "access-control-allow-origin" not in exchange.headers
    assert "access-control-allow-methods" not in exchange.headers
    assert exchange.headers["allow"] == "POST, OPTIONS"


async def test_preflight_for_an_unknown_path_is_404() -> None:
    app, _ = make_app(_backend())
    async with started(app):
        exchange = await Exchange("OPTIONS", "/nope", headers=[("origin", "https://x")]).run(app)
    assert exchange.status == 404


async def test_cors_headers_on_simple_responses() -> None:
    app, _ = make_app(_backend(), quiet_settings(cors_origins=("*",)))
    async with started(app):
        with_origin = await Exchange("GET", "/health", headers=[("origin", "https://x")]).run(app)
        without = await Exchange("GET", "/health").run(app)
        error = await Exchange("GET", "/nope", headers=[("origin", "https://x")]).run(app)
    assert with_origin.headers["access-control-allow-origin"] == "*"
    assert "x-request-id" in with_origin.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in without.headers
    assert error.headers["access-control-allow-origin"] == "*"


async def test_no_cors_when_origins_are_empty() -> None:
    app, _ = make_app(_backend(), quiet_settings(cors_origins=()))
    async with started(app):
        exchange = await Exchange("GET", "/health", headers=[("origin", "https://x")]).run(app)
    assert not any(name.startswith("access-control-") for name in exchange.headers)


async def test_a_disconnect_as_the_handler_returns_still_counts() -> None:
    """The watcher took the only http.disconnect: the response must not be started."""
    woke = anyio.Event()

    async def receive() -> dict[str, Any]:
        woke.set()  # the handler wakes in the same instant the client leaves
        return {"type": "http.disconnect"}

    async def handler(request: Request) -> Response:
        await woke.wait()
        return JSONResponse(b"{}")

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    request = Request(scope, receive, "req_test")
    assert await _run_watched(handler, request, receive) is None
