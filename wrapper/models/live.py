"""Anthropic's live model catalogue: ``GET /v1/models``, every page.

Used when ``ANTHROPIC_API_KEY`` is set. The request carries ``x-api-key``,
``anthropic-version`` (``ANTHROPIC_VERSION``) and, when configured,
``anthropic-beta`` (``ANTHROPIC_BETA`` / ``ANTHROPIC_BETA_HEADER``); pages are
followed with ``after_id`` while ``has_more`` is true, all within one
``MODEL_LIST_REQUEST_TIMEOUT_SECONDS`` deadline. The URL is
``ANTHROPIC_MODELS_URL``, else ``$ANTHROPIC_BASE_URL/v1/models`` (the same
upstream the CLI talks to), else Anthropic's.

Failures become :class:`LiveModelsError` with a message fit for the status
endpoint and logs; the key never appears in either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import anyio
import httpx
import msgspec

from wrapper.config import ModelSettings
from wrapper.models.catalogue import ModelInfo

DEFAULT_MODELS_URL = "https://api.anthropic.com/v1/models"
PAGE_LIMIT = 1000
MAX_PAGES = 100
_FAMILIES = ("opus", "sonnet", "haiku", "fable")


class LiveModelsError(Exception):
    """The live catalogue could not be fetched; the message is safe to show."""


class LiveModelsSource(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how to fetch the live catalogue."""

    url: str
    api_key: str
    version: str = "2023-06-01"
    beta: str | None = None
    timeout_s: float = 5.0

    def headers(self) -> dict[str, str]:
        headers = {
            "x-api-key": self.api_key,
            "anthropic-version": self.version,
            "accept": "application/json",
        }
        if self.beta:
            headers["anthropic-beta"] = self.beta
        return headers


def live_source(settings: ModelSettings, env: Mapping[str, str]) -> LiveModelsSource | None:
    """The live source, or ``None`` when ``ANTHROPIC_API_KEY`` is not set."""
    api_key = env.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        return None
    url = settings.live_url
    if url is None:
        base = env.get("ANTHROPIC_BASE_URL", "").strip().rstrip("/")
        url = f"{base}/v1/models" if base else DEFAULT_MODELS_URL
    return LiveModelsSource(
        url=url,
        api_key=api_key,
        version=settings.anthropic_version,
        beta=settings.anthropic_beta,
        timeout_s=settings.request_timeout_s,
    )


class _Entry(msgspec.Struct):
    id: str
    display_name: str | None = None
    created_at: str | None = None
    max_input_tokens: int | None = None
    max_tokens: int | None = None


class _Page(msgspec.Struct):
    data: list[_Entry]
    has_more: bool = False
    last_id: str | None = None


_PAGE_DECODER = msgspec.json.Decoder(_Page)


def family_of(model_id: str) -> str:
    """``opus`` / ``sonnet`` / ``haiku`` / ``fable`` from a model id, else ``other``."""
    lowered = model_id.lower()
    return next((family for family in _FAMILIES if family in lowered), "other")


def _epoch(created_at: str | None) -> int:
    if not created_at:
        return 0
    try:
        return int(datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def to_model_info(entry: _Entry, known: Mapping[str, ModelInfo]) -> ModelInfo:
    """A live entry as a :class:`ModelInfo`, filling limits from the static table."""
    static = known.get(entry.id)
    return ModelInfo(
        id=entry.id,
        display_name=entry.display_name or (static.display_name if static else entry.id),
        family=family_of(entry.id),
        created=_epoch(entry.created_at) or (static.created if static else 0),
        context_window=entry.max_input_tokens or (static.context_window if static else 0),
        max_output_tokens=entry.max_tokens or (static.max_output_tokens if static else 0),
    )


async def fetch_live_models(
    source: LiveModelsSource,
    known: Mapping[str, ModelInfo],
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[ModelInfo, ...]:
    """Every model of the live catalogue, in the API's order (newest first).

    Raises:
        LiveModelsError: a network failure, a timeout, a non-200 answer, an
            unreadable page, or an empty catalogue.
    """
    entries: list[_Entry] = []
    try:
        with anyio.fail_after(source.timeout_s):
            async with httpx.AsyncClient(
                timeout=source.timeout_s, headers=source.headers(), transport=transport
            ) as client:
                after: str | None = None
                for _ in range(MAX_PAGES):
                    params: dict[str, str | int] = {"limit": PAGE_LIMIT}
                    if after is not None:
                        params["after_id"] = after
                    response = await client.get(source.url, params=params)
                    page = _read_page(response)
                    entries.extend(page.data)
                    next_after = page.last_id or (page.data[-1].id if page.data else None)
                    if not page.has_more or next_after is None or next_after == after:
                        break
                    after = next_after
    except TimeoutError:
        raise LiveModelsError(
            f"the Models API did not answer within {source.timeout_s:g} s"
        ) from None
    except httpx.HTTPError as exc:
        raise LiveModelsError(
            f"the Models API could not be reached ({type(exc).__name__})"
        ) from None
    if not entries:
        raise LiveModelsError("the Models API returned an empty catalogue")
    by_id: dict[str, _Entry] = {}
    for entry in entries:
        by_id.setdefault(entry.id, entry)
    return tuple(to_model_info(entry, known) for entry in by_id.values())


def _read_page(response: httpx.Response) -> _Page:
    if response.status_code != 200:
        hint = " (check ANTHROPIC_API_KEY)" if response.status_code in (401, 403) else ""
        raise LiveModelsError(f"the Models API answered HTTP {response.status_code}{hint}")
    try:
        return _PAGE_DECODER.decode(response.content)
    except msgspec.MsgspecError:
        raise LiveModelsError("the Models API answered with an unreadable page") from None
