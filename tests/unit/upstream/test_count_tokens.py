"""count_tokens through Claude's API: when it is possible, what is sent, how failures map."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from wrapper.errors import (
    BackendTimeoutError,
    InvalidRequestError,
    NotFoundError,
    NotSupportedError,
    PayloadTooLargeError,
    PermissionDeniedError,
    UpstreamAuthenticationError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamRateLimitedError,
    WrapperError,
)
from wrapper.http.error_pages import render_error
from wrapper.upstream.count_tokens import (
    CountTokensConfig,
    NoTokenCounter,
    UpstreamTokenCounter,
    count_tokens_config,
    error_for_response,
    open_token_counter,
)

KEY = "sk-ant-unit-test"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"ANTHROPIC_API_KEY": "  "}, None),
        ({"ANTHROPIC_API_KEY": KEY}, CountTokensConfig("https://api.anthropic.com", KEY)),
        (
            {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/proxy/"},
            CountTokensConfig("http://127.0.0.1:9/proxy", KEY),
        ),
        ({"ANTHROPIC_API_KEY": KEY, "CLAUDE_CODE_USE_BEDROCK": "1"}, None),
        ({"ANTHROPIC_API_KEY": KEY, "CLAUDE_CODE_USE_VERTEX": "true"}, None),
        (
            {"ANTHROPIC_API_KEY": KEY, "CLAUDE_CODE_USE_BEDROCK": "0"},
            CountTokensConfig("https://api.anthropic.com", KEY),
        ),
    ],
)
def test_config_from_environment(env: dict[str, str], expected: CountTokensConfig | None) -> None:
    assert count_tokens_config(env) == expected


def upstream_error(status: int, message: str = "boom", **headers: str) -> httpx.Response:
    body = {"type": "error", "error": {"type": "x", "message": message}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "error_type", "anthropic_status"),
    [
        (400, InvalidRequestError, 400),
        (401, UpstreamAuthenticationError, 401),
        (403, PermissionDeniedError, 403),
        (404, NotFoundError, 404),
        (413, PayloadTooLargeError, 413),
        (422, InvalidRequestError, 400),
        (429, UpstreamRateLimitedError, 429),
        (500, UpstreamError, 502),
        (503, UpstreamOverloadedError, 529),
        (529, UpstreamOverloadedError, 529),
    ],
)
def test_upstream_failures_are_classified(
    status: int, error_type: type[WrapperError], anthropic_status: int
) -> None:
    error = error_for_response(upstream_error(status, "model: bad value"))
    assert type(error) is error_type
    assert render_error(error, "anthropic", "req_1").status == anthropic_status
    if status in (400, 404, 422):
        assert "model: bad value" in error.message


def test_retry_after_is_passed_on() -> None:
    error = error_for_response(upstream_error(429, **{"retry-after": "7"}))
    assert ("retry-after", "7") in error.response_headers()


def test_not_supported_is_501_in_the_anthropic_envelope_and_not_retried() -> None:
    rendered = render_error(NotSupportedError("no counter"), "anthropic", "req_1")
    assert rendered.status == 501
    assert json.loads(rendered.body) == {
        "type": "error",
        "error": {"type": "api_error", "message": "no counter"},
        "request_id": "req_1",
    }
    assert ("x-should-retry", "false") in rendered.headers


def counter(handler: Any) -> tuple[UpstreamTokenCounter, httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return UpstreamTokenCounter(client, CountTokensConfig("http://upstream.test/base", KEY)), client


@pytest.mark.anyio
async def test_count_sends_the_payload_with_the_servers_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"input_tokens": 42})

    tokens, client = counter(handler)
    async with client:
        payload = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        assert await tokens.count(payload) == 42
    request = seen[0]
    assert str(request.url) == "http://upstream.test/base/v1/messages/count_tokens"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert json.loads(request.content) == payload


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "error_type"),
    [
        (httpx.Response(200, json={"tokens": 1}), UpstreamError),
        (httpx.Response(200, content=b"not json"), UpstreamError),
        (upstream_error(529), UpstreamOverloadedError),
    ],
)
async def test_bad_answers_become_wrapper_errors(
    response: httpx.Response, error_type: type[WrapperError]
) -> None:
    tokens, client = counter(lambda request: response)
    async with client:
        with pytest.raises(error_type):
            await tokens.count({"model": "m", "messages": []})


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exception", "error_type"),
    [
        (httpx.ConnectError("refused"), UpstreamError),
        (httpx.ReadTimeout("slow"), BackendTimeoutError),
    ],
)
async def test_transport_failures_become_wrapper_errors(
    exception: Exception, error_type: type[WrapperError]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    tokens, client = counter(handler)
    async with client:
        with pytest.raises(error_type) as caught:
            await tokens.count({"model": "m", "messages": []})
    assert KEY not in caught.value.message
    assert "refused" not in caught.value.message


@pytest.mark.anyio
async def test_no_key_means_no_counter() -> None:
    async with open_token_counter({}, timeout_s=5) as tokens:
        assert isinstance(tokens, NoTokenCounter)
        with pytest.raises(NotSupportedError, match="ANTHROPIC_API_KEY"):
            await tokens.count({"messages": []})
    async with open_token_counter({"ANTHROPIC_API_KEY": KEY}, timeout_s=5) as tokens:
        assert isinstance(tokens, UpstreamTokenCounter)
