"""Retrying a turn whose upstream failed before any output, and the fallback model.

The CLI runs with its own retries off (``CLAUDE_CODE_MAX_RETRIES=0``), so that this
server decides, knowing what the client has seen. A turn is retried only when its
upstream failed **before the turn produced its first event** — an overload (529), a
5xx, or a failed connection to Claude's API (:func:`retry_reason`). Nothing has reached
the client then, so a retry can never duplicate text. Once the first event exists, a
failure goes to the client as it is (an in-stream error when the headers went out).

Retries wait with exponential backoff and jitter (``UPSTREAM_RETRY_BASE_SECONDS``
doubling per retry, capped at ``UPSTREAM_RETRY_MAX_SECONDS``; half of each wait is
random), at most ``UPSTREAM_RETRIES`` times, and all attempts together stay within
the turn's ``MAX_TIMEOUT``: a retry that would start with less than a second left is
not made, and a retried attempt is cut at the original deadline.

After ``FALLBACK_AFTER_OVERLOADS`` overloads of the requested model, the next attempts
use ``FALLBACK_MODEL`` (when set). The fallback gets its attempt even when the retries
are used up. Its events carry its model id, so the response reports the model that
actually answered.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, nullcontext
from typing import Any

import anyio
import msgspec

from wrapper.config import RetrySettings
from wrapper.errors import (
    BackendTimeoutError,
    UpstreamError,
    UpstreamOverloadedError,
    WrapperError,
)
from wrapper.events import AgentEvent, Backend, Turn
from wrapper.logging import get_logger

log = get_logger(__name__)

MIN_ATTEMPT_S = 1.0
"""A retry is only made when at least this much of ``MAX_TIMEOUT`` is left after its wait."""
_CLOSE_DEADLINE_S = 30.0


def retry_reason(error: WrapperError) -> str | None:
    """Why a failure before any output is worth another attempt (``None``: it is not).

    ``overloaded`` (Claude's API answered 529 / overloaded), ``server_error`` (another
    5xx), ``connection`` (no HTTP status: the CLI could not reach the API). Client
    errors, rate limits, timeouts, CLI crashes and request-specific failures are not
    retried.
    """
    if isinstance(error, UpstreamOverloadedError):
        return "overloaded"
    if isinstance(error, UpstreamError) and error.code == "upstream_error":
        status = error.upstream_status
        if status is None:
            return "connection"
        if status >= 500:
            return "server_error"
    return None


def backoff_delay(policy: RetrySettings, retry: int, draw: float) -> float:
    """The wait before retry number ``retry`` (1-based); ``draw`` is uniform in [0, 1)."""
    ceiling = min(policy.max_s, policy.base_s * 2.0 ** (retry - 1))
    return ceiling / 2 + draw * ceiling / 2


class _Plan:
    """The attempts of one turn so far."""

    __slots__ = ("fell_back", "model", "overloads", "retries")

    def __init__(self, model: str) -> None:
        self.model = model
        self.overloads = 0
        self.retries = 0
        self.fell_back = False


class RetryingBackend:
    """Wraps ``inner``; implements the Backend protocol (see the module docstring).

    ``on_retry(reason)`` and ``on_fallback()`` feed the metrics; ``sleep``, ``clock``,
    ``draw`` and ``min_attempt_s`` are injectable for tests.
    """

    def __init__(
        self,
        inner: Backend,
        policy: RetrySettings,
        *,
        timeout_s: float,
        on_retry: Callable[[str], None] = lambda reason: None,
        on_fallback: Callable[[], None] = lambda: None,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
        clock: Callable[[], float] = anyio.current_time,
        draw: Callable[[], float] = random.random,
        min_attempt_s: float = MIN_ATTEMPT_S,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.timeout_s = timeout_s
        self.on_retry = on_retry
        self.on_fallback = on_fallback
        self._sleep = sleep
        self._clock = clock
        self._draw = draw
        self.min_attempt_s = min_attempt_s

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        deadline = self._clock() + self.timeout_s
        plan = _Plan(turn.model)
        while True:
            attempt = (
                turn
                if plan.model == turn.model
                else msgspec.structs.replace(turn, model=plan.model)
            )
            # The first attempt runs under the inner backend's own MAX_TIMEOUT (it started
            # just now); a retry is cut at the turn's original deadline.
            limit = None if plan.retries == 0 else deadline - self._clock()
            stack = AsyncExitStack()
            try:
                events, first = await self._begin(stack, attempt, limit)
            except WrapperError as error:
                await self._before_retry(error, turn, plan, deadline)
                continue
            break
        if plan.model != turn.model and first is not None:
            self.on_fallback()
            log.info("backend.fallback_answered", model=plan.model, requested=turn.model)
        replay = self._replay(first, events, deadline if limit is not None else None)
        async with stack:
            try:
                yield replay
            finally:
                with anyio.move_on_after(_CLOSE_DEADLINE_S, shield=True):
                    await replay.aclose()

    async def _begin(
        self, stack: AsyncExitStack, turn: Turn, limit: float | None
    ) -> tuple[AsyncIterator[AgentEvent], AgentEvent | None]:
        """Open one attempt and wait for its first event (``None``: the turn was empty)."""
        try:
            with anyio.fail_after(max(limit, 0.0)) if limit is not None else nullcontext():
                events = await stack.enter_async_context(self.inner.open(turn))
                first = await anext(events, None)
        except BaseException as exc:
            if isinstance(exc, TimeoutError) and limit is not None:
                expired = self._expired()
                await stack.__aexit__(type(expired), expired, None)
                raise expired from None
            await stack.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return events, first

    async def _before_retry(
        self, error: WrapperError, turn: Turn, plan: _Plan, deadline: float
    ) -> None:
        """Wait before the next attempt and choose its model, or re-raise ``error``."""
        reason = retry_reason(error)
        if reason is None:
            raise error
        policy = self.policy
        if reason == "overloaded" and plan.model == turn.model:
            plan.overloads += 1
        switch = (
            policy.fallback_model is not None
            and not plan.fell_back
            and policy.fallback_model != turn.model
            and plan.overloads >= policy.fallback_after_overloads
        )
        if plan.retries >= policy.retries and not switch:
            raise error
        delay = backoff_delay(policy, plan.retries + 1, self._draw())
        if deadline - (self._clock() + delay) < self.min_attempt_s:
            log.info("backend.retry_skipped", reason=reason, why="no time left")
            raise error
        plan.retries += 1
        if switch:
            assert policy.fallback_model is not None
            plan.model = policy.fallback_model
            plan.fell_back = True
        self.on_retry(reason)
        log.warning(
            "backend.retry",
            reason=reason,
            code=error.code,
            retry=plan.retries,
            delay_s=round(delay, 3),
            model=plan.model,
        )
        await self._sleep(delay)

    async def _replay(
        self,
        first: AgentEvent | None,
        events: AsyncIterator[AgentEvent],
        deadline: float | None,
    ) -> AsyncGenerator[AgentEvent, None]:
        if first is None:
            return
        yield first
        if deadline is None:
            async for event in events:
                yield event
            return
        while True:
            try:
                with anyio.fail_after(max(deadline - self._clock(), 0.0)):
                    event = await anext(events)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise self._expired() from None
            yield event

    def _expired(self) -> BackendTimeoutError:
        return BackendTimeoutError(
            f"The request ran past MAX_TIMEOUT ({round(self.timeout_s * 1000)} ms) and was stopped."
        )
