"""The model list this server serves: pinned, live, or static — one cache for all.

Precedence: ``CLAUDE_MODELS_OVERRIDE`` pins the list; otherwise, when the live
catalogue is configured (``ANTHROPIC_API_KEY``), Anthropic's list, cached for
``MODEL_LIST_CACHE_TTL_SECONDS``; a failed fetch is answered from the static
catalogue and retried only after ``MODEL_LIST_ERROR_TTL_SECONDS``; without a
key, the static catalogue. One fetch runs at a time (callers that arrive during
it wait for its result instead of starting another). ``GET /v1/models``,
``GET /v1/models/{id}``, ``GET /v1/models/status`` and ``POST
/v1/models/refresh`` all go through the one :class:`ServedModels`, so a refresh
changes what is served.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Literal

import anyio
import msgspec

from wrapper.logging import get_logger
from wrapper.models.catalogue import ModelInfo, latest_of_family
from wrapper.models.live import LiveModelsError, LiveModelsSource

log = get_logger(__name__)

Source = Literal["override", "live", "static"]
Fetch = Callable[[LiveModelsSource], Awaitable[tuple[ModelInfo, ...]]]


class ModelsStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What ``GET /v1/models/status`` reports."""

    source: Source
    model_count: int
    default_model: str
    live_configured: bool
    live_url: str | None
    last_refresh: float | None
    last_success: float | None
    last_error: str | None
    next_refresh_in: float | None
    cache_ttl_seconds: float
    error_ttl_seconds: float


class ServedModels:
    """The served model list and its live cache."""

    def __init__(
        self,
        *,
        fallback: tuple[ModelInfo, ...],
        pinned: bool,
        source: LiveModelsSource | None,
        fetch: Fetch,
        ttl_s: float,
        error_ttl_s: float,
        default_model: str,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.fallback = fallback
        self.pinned = pinned
        self.source = source
        self.default_model = default_model
        self._fetch = fetch
        self._ttl_s = ttl_s
        self._error_ttl_s = error_ttl_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = anyio.Lock()
        self._live: tuple[ModelInfo, ...] | None = None
        self._expires_at: float | None = None
        self.last_refresh: float | None = None
        self.last_success: float | None = None
        self.last_error: str | None = None

    @property
    def live_enabled(self) -> bool:
        return self.source is not None and not self.pinned

    def _fresh(self) -> bool:
        return self._expires_at is not None and self._clock() < self._expires_at

    def current(self) -> tuple[ModelInfo, ...]:
        """What is served right now, without fetching."""
        if self.live_enabled and self._live is not None:
            return self._live
        return self.fallback

    def current_source(self) -> Source:
        if self.pinned:
            return "override"
        return "live" if self.live_enabled and self._live is not None else "static"

    async def models(self) -> tuple[ModelInfo, ...]:
        """The served list, fetching the live catalogue first when its cache expired."""
        if self.live_enabled and not self._fresh():
            async with self._lock:
                if not self._fresh():
                    await self._refresh_locked()
        return self.current()

    async def find(self, model_id: str) -> ModelInfo | None:
        return next((model for model in await self.models() if model.id == model_id), None)

    async def refresh(self) -> bool:
        """Fetch the live catalogue now (whatever its cache says); whether it succeeded."""
        if not self.live_enabled:
            return False
        async with self._lock:
            return await self._refresh_locked()

    async def _refresh_locked(self) -> bool:
        assert self.source is not None
        self.last_refresh = self._wall_clock()
        try:
            models = await self._fetch(self.source)
        except LiveModelsError as exc:
            self._live = None
            self.last_error = str(exc)
            self._expires_at = self._clock() + self._error_ttl_s
            log.warning("models.live_fetch_failed", error=self.last_error)
            return False
        self._live = models
        self.last_error = None
        self.last_success = self.last_refresh
        self._expires_at = self._clock() + self._ttl_s
        log.info("models.live_fetched", count=len(models))
        return True

    def latest_sonnet(self) -> str | None:
        """The newest Sonnet of what is served now."""
        return latest_of_family(self.current(), "sonnet")

    def status(self) -> ModelsStatus:
        remaining = None
        if self.live_enabled and self._expires_at is not None:
            remaining = max(0.0, self._expires_at - self._clock())
        return ModelsStatus(
            source=self.current_source(),
            model_count=len(self.current()),
            default_model=self.default_model,
            live_configured=self.source is not None,
            live_url=self.source.url if self.source else None,
            last_refresh=self.last_refresh,
            last_success=self.last_success,
            last_error=self.last_error,
            next_refresh_in=remaining,
            cache_ttl_seconds=self._ttl_s,
            error_ttl_seconds=self._error_ttl_s,
        )
