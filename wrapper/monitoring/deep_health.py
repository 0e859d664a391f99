"""``GET /healthz/deep``: one real round trip through the backend, rarely.

The probe sends a tiny turn (one short user message to the default model)
through the same backend as every request — CLI process, SDK, Claude's API —
and passes when the turn completes. A probe costs a (small) paid query, so its
result is kept for ``DEEP_HEALTH_CACHE_SECONDS`` and callers arriving while one
runs wait for it instead of starting another; with the API key required and
the ``health`` rate limit, the endpoint cannot be used to spend money.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import anyio
import msgspec

from wrapper.errors import WrapperError
from wrapper.events import Backend, Message, TextPart, Turn, TurnEnd

PROBE_PROMPT = "Reply with the single word OK."
PROBE_TIMEOUT_S = 60.0


class DeepHealthResult(msgspec.Struct, frozen=True, kw_only=True):
    """What ``GET /healthz/deep`` answers (status 200 when healthy, else 503)."""

    status: Literal["healthy", "unhealthy"]
    probe_ok: bool
    checked_at: float
    duration_ms: float
    model: str
    cached: bool = False
    error_type: str | None = None
    error_message: str | None = None


class DeepHealth:
    """Runs the probe turn at most once per cache period."""

    def __init__(
        self,
        backend: Backend,
        model: str,
        *,
        cache_s: float,
        timeout_s: float = PROBE_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.model = model
        self.cache_s = cache_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = anyio.Lock()
        self._last: DeepHealthResult | None = None
        self._expires_at = 0.0

    async def check(self) -> DeepHealthResult:
        """The latest probe result, running a new probe when the cached one expired."""
        async with self._lock:
            if self._last is not None and self._clock() < self._expires_at:
                return msgspec.structs.replace(self._last, cached=True)
            result = await self._probe()
            self._last = result
            self._expires_at = self._clock() + self.cache_s
            return result

    async def _probe(self) -> DeepHealthResult:
        turn = Turn(
            model=self.model,
            messages=(Message(role="user", content=(TextPart(PROBE_PROMPT),)),),
        )
        started = time.perf_counter()
        error: WrapperError | None = None
        completed = False
        try:
            with anyio.fail_after(self.timeout_s):
                async with self.backend.open(turn) as events:
                    async for event in events:
                        if isinstance(event, TurnEnd):
                            completed = True
        except TimeoutError:
            error = WrapperError("The probe turn did not finish in time.", code="probe_timeout")
        except WrapperError as exc:
            error = exc
        ok = completed and error is None
        return DeepHealthResult(
            status="healthy" if ok else "unhealthy",
            probe_ok=ok,
            checked_at=self._wall_clock(),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            model=self.model,
            error_type=error.code if error is not None else None,
            error_message=error.message if error is not None else None,
        )
