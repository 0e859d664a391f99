"""A cap on turns in flight, with a bounded, fair wait queue.

Overflow never hangs: when the queue is full the request is refused at once
(429), and a request that waits longer than ``QUEUE_TIMEOUT_SECONDS`` (or its
own deadline) is refused with 503; both carry ``Retry-After``.

Below the cap, turns are paced while they are CPU-bound. A CLI does more work per
turn the more CLIs run beside it (measured on 2 cores against a fast upstream:
0.031 CPU-s a request one at a time, 0.057 at 16 at once), so once the turns
running use the cores already (``saturated``, from the pool's running means of
busy spans and their CPU share), more than ``cpu_bound_limit`` do not start
until one ends — each waits at most ``PACE_WAIT_S``, then starts anyway. Turns
that wait for a real upstream use a few percent of a core and are never paced.
Pacing never refuses a request: with the queue full, a turn under the cap starts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio

from wrapper.errors import BackendUnavailableError, RateLimitedError
from wrapper.events import waiting_for_slot

PACE_WAIT_S = 1.0
"""The longest a turn under the cap waits while the running turns are CPU-bound."""


class _Waiter:
    __slots__ = ("event", "granted")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.granted = False


class Admission:
    """At most ``limit`` turns run at once (``cpu_bound_limit`` while they are
    CPU-bound, for up to ``PACE_WAIT_S``); at most ``queue_limit`` wait."""

    def __init__(
        self,
        limit: int,
        queue_limit: int,
        queue_timeout_s: float,
        *,
        cpu_bound_limit: int = 0,
        pace_wait_s: float = PACE_WAIT_S,
    ) -> None:
        self.limit = limit
        self.queue_limit = queue_limit
        self.queue_timeout_s = queue_timeout_s
        self.cpu_bound_limit = cpu_bound_limit
        self.pace_wait_s = pace_wait_s
        self.running = 0
        self.rejected = 0
        self.paced = 0
        self._queue: deque[_Waiter] = deque()
        # Told each admitted turn's wait (the queue_wait_seconds metric).
        self.on_admitted: Callable[[float], None] | None = None
        # Whether this many running turns use the cores already (the pool's view);
        # None: never paced.
        self.saturated: Callable[[int], bool] | None = None

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

    def _cpu_bound(self) -> bool:
        """Whether a turn under the cap should wait: ``cpu_bound_limit`` turns or more
        are running and use the cores already."""
        limit, saturated = self.cpu_bound_limit, self.saturated
        return (
            0 < limit <= self.running and saturated is not None and saturated(self.running)
        )

    async def _wait(self, waiter: _Waiter) -> None:
        """Wait until a turn that ends passes its slot on, or, once ``pace_wait_s`` has
        passed, take a slot the cap has room for (the wait was the pacing's)."""
        with anyio.move_on_after(self.pace_wait_s):
            await waiter.event.wait()
            return
        while not waiter.granted:
            if self.running < self.limit:
                waiter.granted = True
                self._queue.remove(waiter)
                self.running += 1
                return
            await waiter.event.wait()

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
        free = self.running < self.limit and not self._queue
        if free and not self._cpu_bound():
            self.running += 1
        elif len(self._queue) >= self.queue_limit:
            if self.running >= self.limit:
                self.rejected += 1
                raise RateLimitedError(
                    "The server is at capacity and its queue is full; retry shortly.",
                    code="server_busy",
                    retry_after=2,
                )
            self.running += 1  # pacing never refuses a turn the cap has room for
        else:
            if self.running < self.limit:  # the cap has room: the wait is the pacing's
                self.paced += 1
            waiter = _Waiter()
            self._queue.append(waiter)
            try:
                with waiting_for_slot(), anyio.move_on_after(min(self.queue_timeout_s, max_wait)):
                    await self._wait(waiter)
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
