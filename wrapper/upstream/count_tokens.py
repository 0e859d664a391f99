"""Claude's real token count: ``POST /v1/messages/count_tokens`` on Claude's API.

Claude Code has no way to count the tokens of an arbitrary request (its
``/context`` breakdown counts its own context, category by category), so this
server asks Claude's API directly, with the same ``ANTHROPIC_API_KEY`` and
``ANTHROPIC_BASE_URL`` the CLI uses. When the CLI authenticates another way
(its own login, Bedrock or Vertex) there is no counter, and the endpoint answers
501: a count is never estimated.

Failures are classified here, once, into the WrapperError family. The upstream's
own error message is passed on (it describes the client's request); the API key
never appears in logs or errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx
import msgspec

from wrapper.errors import BackendTimeoutError, NotSupportedError, UpstreamError, WrapperError
from wrapper.upstream.status import error_for_upstream_status

DEFAULT_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
_MAX_MESSAGE = 500
_TRUTHY = frozenset({"1", "true", "yes", "on"})
# Variables that make the CLI use a cloud provider instead of Claude's API.
_PROVIDER_SWITCHES = ("CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX")


class CountTokensConfig(msgspec.Struct, frozen=True):
    base_url: str
    api_key: str


class _Count(msgspec.Struct):
    input_tokens: int


class _ErrorDetail(msgspec.Struct):
    message: str = ""


class _ErrorBody(msgspec.Struct):
    error: _ErrorDetail | None = None


_COUNT_DECODER = msgspec.json.Decoder(_Count)
_ERROR_DECODER = msgspec.json.Decoder(_ErrorBody)


def count_tokens_config(env: Mapping[str, str]) -> CountTokensConfig | None:
    """Where to count tokens, or ``None`` when the CLI does not use Claude's API by key."""
    if any(env.get(name, "").strip().lower() in _TRUTHY for name in _PROVIDER_SWITCHES):
        return None
    api_key = env.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        return None
    base_url = env.get("ANTHROPIC_BASE_URL", "").strip() or DEFAULT_BASE_URL
    return CountTokensConfig(base_url=base_url.rstrip("/"), api_key=api_key)


def _upstream_message(response: httpx.Response) -> str:
    try:
        detail = _ERROR_DECODER.decode(response.content).error
    except msgspec.MsgspecError:
        detail = None
    text = " ".join((detail.message if detail else "").split())
    return text[:_MAX_MESSAGE] or f"status {response.status_code}"


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def error_for_response(response: httpx.Response) -> WrapperError:
    """Classify a failed count_tokens response from Claude's API."""
    return error_for_upstream_status(
        response.status_code,
        _upstream_message(response),
        retry_after=_retry_after(response),
        auth_hint="check ANTHROPIC_API_KEY",
    )


_NO_COUNTER = (
    "count_tokens needs Claude's API: it works when this server's Claude Code authenticates "
    "with ANTHROPIC_API_KEY. With a CLI login, Bedrock or Vertex there is no exact count, and "
    "this server never estimates one."
)


class TokenCounter(Protocol):
    """Counts the input tokens of a count_tokens request body."""

    async def count(self, payload: Mapping[str, Any]) -> int: ...


class NoTokenCounter:
    """The counter when the CLI does not authenticate with an API key: every count is a 501."""

    async def count(self, payload: Mapping[str, Any]) -> int:
        """Never counts.

        Raises:
            NotSupportedError: always (501), saying why.
        """
        raise NotSupportedError(_NO_COUNTER)


class UpstreamTokenCounter:
    """Counts a request's input tokens with Claude's API."""

    def __init__(self, client: httpx.AsyncClient, config: CountTokensConfig) -> None:
        self._client = client
        self._url = f"{config.base_url}/v1/messages/count_tokens"
        self._headers = {
            "x-api-key": config.api_key,
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
        }

    async def count(self, payload: Mapping[str, Any]) -> int:
        """The input tokens of ``payload`` (a count_tokens request body).

        Raises:
            BackendTimeoutError: Claude's API did not answer in time.
            UpstreamError: Claude's API could not be reached or answered nonsense.
            WrapperError: Claude's API refused the request (classified by status).
        """
        body = msgspec.json.encode(payload)
        try:
            response = await self._client.post(self._url, content=body, headers=self._headers)
        except httpx.TimeoutException:
            raise BackendTimeoutError(
                "Claude's API did not answer the token count in time."
            ) from None
        except httpx.HTTPError:
            raise UpstreamError(
                "Could not reach Claude's API to count tokens.", code="upstream_unreachable"
            ) from None
        if response.status_code != 200:
            raise error_for_response(response)
        try:
            return _COUNT_DECODER.decode(response.content).input_tokens
        except msgspec.MsgspecError:
            raise UpstreamError(
                "Claude's API answered the token count in an unexpected shape."
            ) from None


@asynccontextmanager
async def open_token_counter(
    env: Mapping[str, str], *, timeout_s: float
) -> AsyncIterator[TokenCounter]:
    """A token counter for the server's lifetime (:class:`NoTokenCounter` without an API key)."""
    config = count_tokens_config(env)
    if config is None:
        yield NoTokenCounter()
        return
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        yield UpstreamTokenCounter(client, config)
