"""The pool's settings (from ``POOL_*``; see docs/configuration.md)."""

from __future__ import annotations

import msgspec


class PoolSettings(msgspec.Struct, frozen=True, kw_only=True):
    max_processes: int = 8
    min_warm: int = 1
    spares_per_profile: int = 1
    idle_timeout_s: float = 600.0
    affinity_ttl_s: float = 600.0
    max_turns_per_process: int = 200
    max_rss_bytes: int = 450 * 1024 * 1024
    park_timeout_s: float = 300.0
    maintenance_interval_s: float = 1.0
    # "clear": a process is reused for a new conversation after /clear (fast; the CLI
    # then shows the next conversation a short record that /clear ran). "replace": a
    # process serves one conversation only and is replaced (pristine, ~0.3 CPU-s each).
    reset: str = "clear"
