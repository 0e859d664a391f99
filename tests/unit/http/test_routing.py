"""The route table: literal and parameter segments, 404, 405 with Allow, HEAD via GET."""

from __future__ import annotations

import pytest

from wrapper.errors import MethodNotAllowedError, NotFoundError
from wrapper.http.request import Request
from wrapper.http.responses import JSONResponse, Response
from wrapper.http.routing import Route, Router


async def _handler(request: Request) -> Response:
    return JSONResponse(b"{}")


def _router() -> Router:
    return Router(
        [
            Route("GET", "/health", _handler, name="health", auth=False),
            Route("POST", "/v1/chat/completions", _handler, name="chat"),
            Route("POST", "/v1/messages", _handler, name="messages", dialect="anthropic"),
            Route("GET", "/v1/models", _handler, name="models.list"),
            Route("GET", "/v1/models/{model_id}", _handler, name="models.get"),
            Route("GET", "/v1/sessions/{session_id}", _handler, name="sessions.get"),
            Route("DELETE", "/v1/sessions/{session_id}", _handler, name="sessions.delete"),
        ]
    )


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("GET", "/health", "health", {}),
        ("GET", "/health/", "health", {}),
        ("POST", "/v1/chat/completions", "chat", {}),
        ("GET", "/v1/models", "models.list", {}),
        ("GET", "/v1/models/claude-sonnet-4-6", "models.get", {"model_id": "claude-sonnet-4-6"}),
        ("DELETE", "/v1/sessions/abc", "sessions.delete", {"session_id": "abc"}),
        ("GET", "/v1/sessions/abc", "sessions.get", {"session_id": "abc"}),
        ("HEAD", "/health", "health", {}),
        ("HEAD", "/v1/models/x", "models.get", {"model_id": "x"}),
    ],
)
def test_resolve_finds_the_route_and_its_parameters(
    method: str, path: str, name: str, params: dict[str, str]
) -> None:
    route, found = _router().resolve(method, path)
    assert route.name == name
    assert found == params


@pytest.mark.parametrize(
    "path", ["/", "/nope", "/v1", "/v1/chat", "/v1/chat/completions/extra", "/v1/models/a/b"]
)
def test_unknown_paths_are_404(path: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        _router().resolve("GET", path)
    assert caught.value.status == 404


def test_an_empty_parameter_segment_does_not_match() -> None:
    with pytest.raises(NotFoundError):
        _router().resolve("GET", "/v1/sessions//")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/chat/completions", "POST"),
        ("DELETE", "/health", "GET"),
        ("POST", "/v1/sessions/abc", "DELETE, GET"),
        ("HEAD", "/v1/messages", "POST"),
    ],
)
def test_wrong_method_is_405_listing_the_allowed_ones(method: str, path: str, allow: str) -> None:
    with pytest.raises(MethodNotAllowedError) as caught:
        _router().resolve(method, path)
    error = caught.value
    assert error.status == 405
    assert ("allow", allow) in error.response_headers()
    assert method in error.message


def test_dialect_for_follows_the_route_and_the_messages_prefix() -> None:
    router = _router()
    assert router.dialect_for("/v1/messages") == "anthropic"
    assert router.dialect_for("/v1/chat/completions") == "openai"
    assert router.dialect_for("/v1/messages/unknown") == "anthropic"
    assert router.dialect_for("/unknown") == "openai"


def test_patterns_must_start_with_a_slash() -> None:
    with pytest.raises(ValueError, match="must start"):
        Route("GET", "health", _handler, name="bad")


def test_literal_segments_win_over_parameters_wherever_they_are_listed() -> None:
    routes = [
        Route("GET", "/v1/models/{model_id}", _handler, name="models.get"),
        Route("GET", "/v1/models/status", _handler, name="models.status"),
        Route("GET", "/v1/{area}/stats", _handler, name="area.stats"),
        Route("GET", "/v1/sessions/stats", _handler, name="sessions.stats"),
    ]
    for table in (routes, list(reversed(routes))):
        router = Router(table)
        assert router.resolve("GET", "/v1/models/status")[0].name == "models.status"
        assert router.resolve("GET", "/v1/models/claude-x")[0].name == "models.get"
        assert router.resolve("GET", "/v1/sessions/stats")[0].name == "sessions.stats"
        assert router.resolve("GET", "/v1/tools/stats")[0].name == "area.stats"
