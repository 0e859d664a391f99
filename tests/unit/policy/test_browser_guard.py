"""Without API_KEY, only loopback Host names and JSON content types reach the API."""

from __future__ import annotations

import pytest

from wrapper.errors import PermissionDeniedError, UnsupportedMediaTypeError
from wrapper.http.request import Request
from wrapper.http.responses import JSONResponse
from wrapper.http.routing import Doc, Route
from wrapper.policy.browser_guard import BrowserGuard, host_name, is_json_media_type, is_loopback


async def _handler(request: Request) -> JSONResponse:
    return JSONResponse(b"{}")


API = Route("POST", "/v1/chat/completions", _handler, name="chat", doc=Doc("c", body=dict))
PUBLIC = Route("GET", "/health", _handler, name="health", auth=False)


def _request(method: str, headers: dict[str, str]) -> Request:
    scope = {
        "type": "http",
        "method": method,
        "path": "/x",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    return Request(scope, receive, "req_1")


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("header", "name"),
    [("LocalHost:8000", "localhost"), ("[::1]:80", "::1"), ("127.0.0.1", "127.0.0.1"),
     ("a.example.", "a.example"), ("::1", "::1")],
)  # fmt: skip
def test_host_names_lose_port_brackets_and_case(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize("name", ["localhost", "app.localhost", "127.0.0.1", "127.8.9.1", "::1"])
def test_loopback_names(name: str) -> None:
    assert is_loopback(name)


@pytest.mark.parametrize("name", ["localhost.evil.example", "10.0.0.1", "0.0.0.0", "example"])
def test_names_that_are_not_loopback(name: str) -> None:
    assert not is_loopback(name)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("application/json", True), ("Application/JSON; charset=utf-8", True),
     ("application/merge-patch+json", True), ("text/plain", False), (None, False),
     ("application/x-www-form-urlencoded", False), ("multipart/form-data; boundary=x", False)],
)  # fmt: skip
def test_json_media_types(value: str | None, ok: bool) -> None:
    assert is_json_media_type(value) is ok


def test_keyless_refuses_a_foreign_host_on_the_api_only() -> None:
    guard = BrowserGuard(keyless=True)
    with pytest.raises(PermissionDeniedError, match="ALLOWED_HOSTS"):
        guard.check(_request("POST", {"host": "evil.example", **JSON}), API)
    guard.check(_request("GET", {"host": "evil.example"}), PUBLIC)
    guard.check(_request("POST", {"host": "localhost:8000", **JSON}), API)


def test_listed_hosts_are_answered_and_star_answers_any() -> None:
    guard = BrowserGuard(keyless=True, allowed_hosts=("api.example",))
    guard.check(_request("POST", {"host": "API.example:443", **JSON}), API)
    guard.check(_request("POST", {"host": "127.0.0.1:1", **JSON}), API)
    with pytest.raises(PermissionDeniedError):
        guard.check(_request("POST", {"host": "other.example", **JSON}), API)
    BrowserGuard(keyless=True, allowed_hosts=("*",)).check(
        _request("POST", {"host": "any.example", **JSON}), API
    )


def test_keyless_requires_a_json_content_type() -> None:
    guard = BrowserGuard(keyless=True)
    for headers in ({"host": "localhost", "content-type": "text/plain"}, {"host": "localhost"}):
        with pytest.raises(UnsupportedMediaTypeError):
            guard.check(_request("POST", headers), API)


def test_with_a_key_any_host_and_content_type_pass_unless_hosts_are_listed() -> None:
    keyed = BrowserGuard(keyless=False)
    keyed.check(_request("POST", {"host": "evil.example", "content-type": "text/plain"}), API)
    listed = BrowserGuard(keyless=False, allowed_hosts=("api.example",))
    with pytest.raises(PermissionDeniedError):
        listed.check(_request("POST", {"host": "evil.example", **JSON}), API)
