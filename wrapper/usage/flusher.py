"""A background writer that sleeps until something is pending (write-behind)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio


class Flusher:
    """Runs ``flush`` whenever ``pending()`` holds, waking on :meth:`poke`.

    The owner keeps what is pending and calls :meth:`poke` after adding to it; the
    loop (in the app's background task group) flushes, then waits ``interval_s``
    so that what arrives meanwhile shares the next write.
    """

    def __init__(
        self,
        pending: Callable[[], bool],
        flush: Callable[[], Awaitable[None]],
        *,
        interval_s: float = 0.0,
    ) -> None:
        self._pending = pending
        self._flush = flush
        self._interval_s = interval_s
        self._wake: anyio.Event | None = None

    def poke(self) -> None:
        """Something was added: wake the loop if it waits (never blocks)."""
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Flush what is pending as it comes, until cancelled."""
        while True:
            self._wake = anyio.Event()
            if not self._pending():
                await self._wake.wait()
            await self._flush()
            if self._interval_s > 0:
                await anyio.sleep(self._interval_s)
