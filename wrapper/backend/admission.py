"""A cap on turns in flight, with a bounded, fair wait queue.

Overflow never hangs: when the queue is full the request is refused at once
(429), and a request that waits longer than ``QUEUE_TIMEOUT_SECONDS`` (or its
own deadline) is refused with 503; both carry ``Retry-After``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio

from wrapper.errors import BackendUnavailableError, RateLimitedError
from wrapper.events import waiting_for_slot


class _Waiter:
    __slots__ = ("event", "granted")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.granted = False


class Admission:
    """At most ``limit`` turns run at once; at most ``queue_limit`` wait."""

    def __init__(self, limit: int, queue_limit: int, queue_timeout_s: float) -> None:
        self.limit = limit
        self.queue_limit = queue_limit
        self.queue_timeout_s = queue_timeout_s
        self.running = 0
        self.rejected = 0
        self._queue: deque[_Waiter] = deque()
        # Told each admitted turn's wait (the queue_wait_seconds metric).
        self.on_admitted: Callable[[float], None] | None = None

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def _release(self) -> None:
        while self._queue:
            waiter = self._queue.popleft()
            if not waiter.granted:
                waiter.granted = True
                waiter.event.set()
                return
        self.running -= 1

    def _leave(self, waiter: _Waiter) -> None:
        """A waiter gives up: drop it, or pass on the slot it was just granted."""
        if waiter.granted:
            self._release()
        else:
            waiter.granted = True
            self._queue.remove(waiter)

    @asynccontextmanager
    async def slot(self, max_wait: float) -> AsyncIterator[None]:
        """Hold one turn slot for the duration of the context.

        Raises:
            RateLimitedError: the wait queue is full (429).
            BackendUnavailableError: no slot freed up in time (503).
        """
        started = anyio.current_time()
        if self.running < self.limit and not self._queue:
            self.running += 1
        elif len(self._queue) >= self.queue_limit:
            self.rejected += 1
            raise RateLimitedError(
                "The server is at capacity and its queue is full; retry shortly.",
                code="server_busy",
                retry_after=2,
            )
        else:
            waiter = _Waiter()
            self._queue.append(waiter)
            try:
                with waiting_for_slot(), anyio.move_on_after(min(self.queue_timeout_s, max_wait)):
                    await waiter.event.wait()
            except BaseException:
                self._leave(waiter)
                raise
            if not waiter.granted:
                self._leave(waiter)
                self.rejected += 1
                raise BackendUnavailableError(
                    "The server is busy: no capacity freed up in time; retry shortly.",
                    code="queue_timeout",
                    retry_after=5,
                )
        try:
            if self.on_admitted is not None:
                self.on_admitted(anyio.current_time() - started)
            yield
        finally:
            self._release()
