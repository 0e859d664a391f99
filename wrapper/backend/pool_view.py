"""What ``GET /v1/pool/status``, ``GET /healthz/ready`` and the metrics read of the process pool.

The pooled backend's :class:`~wrapper.backend.pool.ProcessPool` is one; the cold
backend has no pool, and :class:`NoPool` stands for it.
"""

from __future__ import annotations

from typing import Protocol


class PoolView(Protocol):
    """The pool's counts by state and its live pids."""

    @property
    def enabled(self) -> bool: ...

    @property
    def ready(self) -> bool:
        """The pool has had its warm minimum up (it stays ready once it has), and is
        not closed: a request sent now does not wait for the pool's first start."""
        ...

    def stats(self) -> dict[str, int]: ...

    def pids(self) -> list[int]: ...


class NoPool:
    """The cold backend's pool: empty, and says so."""

    @property
    def enabled(self) -> bool:
        return False

    @property
    def ready(self) -> bool:
        return True

    def stats(self) -> dict[str, int]:
        return {}

    def pids(self) -> list[int]:
        return []
