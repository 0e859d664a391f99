"""What ``GET /v1/pool/status`` and the metrics read of the process pool.

The pooled backend's :class:`~wrapper.backend.pool.ProcessPool` is one; the cold
backend has no pool, and :class:`NoPool` stands for it.
"""

from __future__ import annotations

from typing import Protocol


class PoolView(Protocol):
    """The pool's counts by state and its live pids."""

    @property
    def enabled(self) -> bool: ...

    def stats(self) -> dict[str, int]: ...

    def pids(self) -> list[int]: ...


class NoPool:
    """The cold backend's pool: empty, and says so."""

    @property
    def enabled(self) -> bool:
        return False

    def stats(self) -> dict[str, int]:
        return {}

    def pids(self) -> list[int]:
        return []
