"""The server's face in-process: the landing page, its files, /openapi.json and /docs.

The OpenAPI document is checked against the real route table and against the
real responses: every route is in it, and what the handlers send decodes as the
types the document names.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from openapi_spec_validator import validate

from tests.asgi.driver import Exchange, json_body, make_app, quiet_settings, started
from tests.fakes.backend import FakeBackend, text_events
from wrapper.app import App
from wrapper.http.routing import Doc, Route

pytestmark = pytest.mark.anyio


def _app(**settings: Any) -> App:
    app, _ = make_app(FakeBackend(text_events("Hello", " there")), quiet_settings(**settings))
    return app


def _routes(app: App) -> tuple[Route, ...]:
    assert app.router is not None
    return app.router.routes


def _doc(route: Route) -> Doc:
    assert route.doc is not None, f"{route.method} {route.pattern} has no Doc"
    return route.doc


async def test_every_route_has_a_doc_and_an_operation_in_a_valid_document() -> None:
    app = _app()
    async with started(app):
        exchange = await Exchange("GET", "/openapi.json").run(app)
        assert exchange.status == 200
        assert exchange.headers["content-type"] == "application/json"
        document = exchange.json()
        validate(document)
        routes = _routes(app)
        missing = [
            f"{route.method} {route.pattern}"
            for route in routes
            if route.method.lower() not in document["paths"].get(route.pattern, {})
        ]
        assert not missing
        undocumented = [f"{r.method} {r.pattern}" for r in routes if r.doc is None]
        assert not undocumented
        operations = sum(
            1 for item in document["paths"].values() for method in item if method != "head"
        )
        assert operations == len(routes)


async def test_every_auth_free_route_says_so_and_every_other_needs_the_key() -> None:
    app = _app()
    async with started(app):
        document = (await Exchange("GET", "/openapi.json").run(app)).json()
        for route in _routes(app):
            security = document["paths"][route.pattern][route.method.lower()]["security"]
            assert (security == []) is (not route.auth), route.pattern
        public = {r.pattern for r in _routes(app) if not r.auth}
        assert public == {
            "/",
            "/api/hello",
            "/static/{name}",
            "/openapi.json",
            "/docs",
            "/health",
            "/healthz/ready",
            "/version",
        }


async def test_what_the_get_handlers_send_decodes_as_the_documented_types() -> None:
    app = _app()
    async with started(app):
        checked = 0
        for route in _routes(app):
            doc = _doc(route)
            if route.method != "GET" or "{" in route.pattern or doc.response is None:
                continue
            exchange = await Exchange("GET", route.pattern).run(app)
            kind = doc.statuses.get(exchange.status, doc.response)
            assert exchange.status in (200, *doc.statuses), (route.pattern, exchange.body)
            msgspec.json.decode(exchange.body, type=kind, strict=True)
            checked += 1
        assert checked >= 10


async def test_chat_bodies_and_stream_chunks_decode_as_the_documented_types() -> None:
    app = _app()
    async with started(app):
        route = next(r for r in _routes(app) if r.name == "chat")
        doc = _doc(route)
        hello = {"model": "claude-test", "messages": [{"role": "user", "content": "hi"}]}
        msgspec.json.decode(json_body(hello), type=doc.body)
        plain = await Exchange("POST", route.pattern, body=json_body(hello)).run(app)
        msgspec.json.decode(plain.body, type=doc.response, strict=True)
        streamed = await Exchange(
            "POST", route.pattern, body=json_body({**hello, "stream": True})
        ).run(app)
        frames = streamed.data_frames()
        assert frames[-1] == "[DONE]"
        for frame in frames[:-1]:
            msgspec.json.decode(frame, type=doc.stream, strict=True)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        (
            "messages",
            {
                "model": "claude-test",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": "hi"}],
            },
        ),
        ("responses", {"model": "claude-test", "input": "hi"}),
    ],
)
async def test_named_event_streams_decode_as_the_documented_events(
    name: str, body: dict[str, Any]
) -> None:
    app = _app()
    async with started(app):
        route = next(r for r in _routes(app) if r.name == name)
        doc = _doc(route)
        plain = await Exchange("POST", route.pattern, body=json_body(body)).run(app)
        assert plain.status == 200, plain.body
        msgspec.json.decode(plain.body, type=doc.response, strict=True)
        streamed = await Exchange(
            "POST", route.pattern, body=json_body({**body, "stream": True})
        ).run(app)
        frames = streamed.data_frames()
        assert frames
        for frame in frames:
            event = msgspec.json.decode(frame, type=doc.stream, strict=True)
            assert json.loads(frame)["type"] == type(event).__struct_config__.tag


async def test_the_landing_page_is_public_html_from_the_package() -> None:
    app = _app(api_key="s3cret")
    async with started(app):
        page = await Exchange("GET", "/").run(app)
        assert page.status == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert b"<title>claude-wrapper</title>" in page.body
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        head = await Exchange("HEAD", "/").run(app)
        assert head.status == 200
        assert head.body == b""
        assert head.headers["content-length"] == str(len(page.body))
        denied = await Exchange("GET", "/v1/models").run(app)
        assert denied.status == 401


async def test_the_page_loads_only_files_this_server_serves() -> None:
    app = _app(api_key="s3cret")
    async with started(app):
        for path in ("/", "/docs"):
            html = (await Exchange("GET", path).run(app)).body.decode()
            assert "http://" not in html
            assert "https://" not in html
            for name in (
                ("landing.css", "page.js", "landing.js", "playground.js")
                if path == "/"
                else ("docs.css", "docs.js")
            ):
                assert f'/static/{name}"' in html
                asset = await Exchange("GET", f"/static/{name}").run(app)
                assert asset.status == 200, name
                assert asset.body
                suffix = name.rsplit(".", 1)[1]
                expected = {"css": "text/css", "js": "text/javascript"}[suffix]
                assert asset.headers["content-type"].startswith(expected)


@pytest.mark.parametrize("name", ["nope.js", "..", "%2e%2e%2fconfig.py", "__init__.py"])
async def test_an_unknown_static_file_is_a_404(name: str) -> None:
    app = _app()
    async with started(app):
        exchange = await Exchange("GET", f"/static/{name}").run(app)
        assert exchange.status == 404
        assert exchange.json()["error"]["type"] == "invalid_request_error"


async def test_docs_and_openapi_are_public_when_a_key_is_set() -> None:
    app = _app(api_key="s3cret")
    async with started(app):
        docs = await Exchange("GET", "/docs").run(app)
        assert docs.status == 200
        assert docs.headers["content-type"].startswith("text/html")
        assert (await Exchange("GET", "/openapi.json").run(app)).status == 200
