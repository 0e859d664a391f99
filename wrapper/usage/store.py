"""Where usage lives: counters (per key and period) and readings (the plan's windows).

One small Protocol with three homes: :class:`MemoryUsageStore` (tests, ``memory://``),
``sqlite_store.SqliteUsageStore`` (the embedded store, surviving restarts) and
``redis_store.RedisUsageStore`` (shared by replicas). A counter is a hash of named
numbers under a key that expires; a reading is a named blob under a key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

Addition = tuple[str, Mapping[str, float], float | None]
"""One addition to a counter: its key, the amounts to add, and its ``ttl_s``."""


class UsageStore(Protocol):
    """Counters and readings, possibly shared by replicas."""

    kind: str

    async def add(
        self, key: str, amounts: Mapping[str, float], ttl_s: float | None
    ) -> dict[str, float]:
        """Add ``amounts`` to the counters of ``key``; their new values.

        ``ttl_s`` (re)sets when ``key`` expires (``None``: never).
        """

    async def add_many(self, additions: Sequence[Addition]) -> None:
        """Make each of ``additions`` as :meth:`add` does, in one write where the store can."""

    async def counters(self, keys: Sequence[str]) -> list[dict[str, float]]:
        """The counters of each of ``keys`` (empty for a key never added to, or expired)."""

    async def put_reading(self, key: str, name: str, value: bytes) -> None:
        """Store the reading ``name`` under ``key``."""

    async def readings(self, key: str) -> dict[str, bytes]:
        """Every reading under ``key``."""

    async def delete(self, keys: Sequence[str]) -> None:
        """Forget ``keys`` (counters and readings)."""


class MemoryUsageStore:
    """In-process usage (nothing shared or kept across restarts)."""

    kind = "memory"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counters: dict[str, tuple[dict[str, float], float | None]] = {}
        self._readings: dict[str, dict[str, bytes]] = {}

    def _live(self, key: str) -> dict[str, float]:
        found = self._counters.get(key)
        if found is None:
            return {}
        values, expires = found
        if expires is not None and expires <= self._clock():
            del self._counters[key]
            return {}
        return values

    async def add(
        self, key: str, amounts: Mapping[str, float], ttl_s: float | None
    ) -> dict[str, float]:
        values = dict(self._live(key))
        for name, amount in amounts.items():
            values[name] = values.get(name, 0.0) + amount
        self._counters[key] = (values, None if ttl_s is None else self._clock() + ttl_s)
        return dict(values)

    async def add_many(self, additions: Sequence[Addition]) -> None:
        for key, amounts, ttl_s in additions:
            await self.add(key, amounts, ttl_s)

    async def counters(self, keys: Sequence[str]) -> list[dict[str, float]]:
        return [dict(self._live(key)) for key in keys]

    async def put_reading(self, key: str, name: str, value: bytes) -> None:
        self._readings.setdefault(key, {})[name] = value

    async def readings(self, key: str) -> dict[str, bytes]:
        return dict(self._readings.get(key, {}))

    async def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._counters.pop(key, None)
            self._readings.pop(key, None)
