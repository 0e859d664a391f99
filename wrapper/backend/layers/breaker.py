"""The circuit breaker: stop sending turns to an upstream that keeps failing.

The breaker keeps the outcomes of recent turns (``WRAPPER_CIRCUIT_BREAKER_WINDOW_SECONDS``).
When at least ``_MIN_REQUESTS`` of them are in the window and the share that failed
reaches ``_THRESHOLD``, it **opens**: for ``_OPEN_SECONDS`` every turn is refused at
once with 503 ``circuit_open`` and a ``Retry-After`` telling the real time left. Then it
is **half-open**: exactly one turn goes through as a probe (others are refused with
``Retry-After: 1``); the probe's success closes the breaker (with a fresh window), its
failure opens it again.

An outcome is counted when the turn's context exits, streams included: a turn that
reached its :class:`~wrapper.events.TurnEnd` succeeded; one that failed with an
upstream or backend failure (:func:`counts_as_failure`) failed. Anything else — the
client went away, the request was refused for the client's own reasons, the server was
busy — is not counted (a half-open probe that ends that way hands the probe to the next
turn).

The breaker is per process (like the existing wrapper's); its state is in
``GET /v1/pool/status`` and the ``circuit_breaker_open`` metric.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal

import anyio
import msgspec

from wrapper.config import BreakerSettings
from wrapper.errors import (
    BackendTimeoutError,
    BackendUnavailableError,
    UpstreamError,
    UpstreamOverloadedError,
    WrapperError,
)
from wrapper.events import AgentEvent, Backend, Turn, TurnEnd
from wrapper.logging import get_logger

log = get_logger(__name__)

State = Literal["closed", "open", "half_open"]

# Failures that describe the request, not the upstream's health.
_REQUEST_OUTCOMES = frozenset({"max_turns", "max_budget", "structured_output_failed"})
_CLOSE_DEADLINE_S = 30.0


def counts_as_failure(error: WrapperError) -> bool:
    """Whether ``error`` says the upstream (or the CLI) is failing.

    Upstream and CLI failures (502), overloads (503/529) and timeouts (504) count;
    client errors, this server's own capacity refusals and the breaker's own 503 do not.
    """
    if isinstance(error, UpstreamError):
        return error.code not in _REQUEST_OUTCOMES
    return isinstance(error, UpstreamOverloadedError | BackendTimeoutError)


class BreakerStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The breaker as ``GET /v1/pool/status`` shows it."""

    enabled: bool
    state: State
    requests_in_window: int
    failures_in_window: int
    window_seconds: float
    threshold: float
    min_requests: int
    open_seconds: float
    retry_after_seconds: float | None
    times_opened: int
    rejected: int


class CircuitBreaker:
    """The breaker's state machine; ``clock`` is injectable (monotonic seconds)."""

    def __init__(
        self, settings: BreakerSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._outcomes: deque[tuple[float, bool]] = deque()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.times_opened = 0
        self.rejected = 0

    # ---------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self._clock() < self._opened_at + self.settings.open_s:
            return "open"
        return "half_open"

    @property
    def is_open(self) -> bool:
        """True while open or half-open (the ``circuit_breaker_open`` gauge)."""
        return self._opened_at is not None

    def _prune(self, now: float) -> None:
        horizon = now - self.settings.window_s
        while self._outcomes and self._outcomes[0][0] <= horizon:
            _, failed = self._outcomes.popleft()
            self._failures -= failed

    def admit(self) -> bool:
        """Let a turn through, or refuse it; True when the turn is the half-open probe.

        Raises:
            BackendUnavailableError: the breaker is open (503 ``circuit_open``, with
                ``Retry-After``: the time left open, or 1 s while a probe runs).
        """
        if not self.settings.enabled or self._opened_at is None:
            return False
        left = self._opened_at + self.settings.open_s - self._clock()
        if left <= 0 and not self._probing:
            self._probing = True
            log.info("breaker.half_open")
            return True
        self.rejected += 1
        raise BackendUnavailableError(
            "Claude's API is failing; this server stopped sending it requests for a while. "
            "Retry after the time in Retry-After.",
            code="circuit_open",
            retry_after=max(left, 1.0),
        )

    def record(self, failed: bool, *, probe: bool = False) -> None:
        """Count a finished turn's outcome (``probe``: it was the half-open probe)."""
        if not self.settings.enabled:
            return
        now = self._clock()
        if probe:
            self._probing = False
            if failed:
                self._open(now)
            else:
                self._opened_at = None
                self._outcomes.clear()
                self._failures = 0
                log.info("breaker.closed")
            return
        if self._opened_at is not None:
            return  # a turn admitted before the breaker opened: already decided
        self._prune(now)
        self._outcomes.append((now, failed))
        self._failures += failed
        count = len(self._outcomes)
        if (
            failed
            and count >= self.settings.min_requests
            and self._failures / count >= self.settings.threshold
        ):
            self._open(now)

    def abandon_probe(self) -> None:
        """The probe ended without an outcome (client gone, client error): free it."""
        self._probing = False

    def _open(self, now: float) -> None:
        self._opened_at = now
        self.times_opened += 1
        log.warning(
            "breaker.opened",
            failures=self._failures,
            requests=len(self._outcomes),
            open_seconds=self.settings.open_s,
        )

    def status(self) -> BreakerStatus:
        now = self._clock()
        self._prune(now)
        left = None
        if self._opened_at is not None:
            left = max(0.0, round(self._opened_at + self.settings.open_s - now, 3))
        return BreakerStatus(
            enabled=self.settings.enabled,
            state=self.state,
            requests_in_window=len(self._outcomes),
            failures_in_window=self._failures,
            window_seconds=self.settings.window_s,
            threshold=self.settings.threshold,
            min_requests=self.settings.min_requests,
            open_seconds=self.settings.open_s,
            retry_after_seconds=left,
            times_opened=self.times_opened,
            rejected=self.rejected,
        )


class _Outcome:
    __slots__ = ("completed", "error")

    def __init__(self) -> None:
        self.completed = False
        self.error: WrapperError | None = None


class BreakerBackend:
    """Wraps ``inner`` with a :class:`CircuitBreaker`; implements the Backend protocol."""

    def __init__(self, inner: Backend, breaker: CircuitBreaker) -> None:
        self.inner = inner
        self.breaker = breaker

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        probe = self.breaker.admit()
        outcome = _Outcome()
        entered = False
        try:
            async with self.inner.open(turn) as events:
                entered = True
                watched = _watch(events, outcome)
                try:
                    yield watched
                finally:
                    with anyio.move_on_after(_CLOSE_DEADLINE_S, shield=True):
                        await watched.aclose()
        except WrapperError as error:
            if not entered:
                outcome.error = error
            raise
        finally:
            self._settle(outcome, probe)

    def _settle(self, outcome: _Outcome, probe: bool) -> None:
        if outcome.completed:
            self.breaker.record(False, probe=probe)
        elif outcome.error is not None and counts_as_failure(outcome.error):
            self.breaker.record(True, probe=probe)
        elif probe:
            self.breaker.abandon_probe()


async def _watch(
    events: AsyncIterator[AgentEvent], outcome: _Outcome
) -> AsyncGenerator[AgentEvent, None]:
    try:
        async for event in events:
            if isinstance(event, TurnEnd):
                outcome.completed = True
            yield event
    except WrapperError as error:
        outcome.error = error
        raise
