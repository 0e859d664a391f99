"""Request limits per client address and endpoint group, over a sliding window.

A group allows ``limit`` requests in any rolling ``window`` (60 s): each
accepted request is remembered until it leaves the window, so the wait a
refused client is told (``Retry-After``) is exact — the time until its oldest
counted request expires — and no window boundary lets a double burst through.

Counters live behind :class:`RateLimitStore`: :class:`MemoryRateLimitStore` for
one process (clock injected, so tests need no sleeps) and
:class:`RedisRateLimitStore` for replicas that share a Redis (one atomic Lua
script per hit, timed by the Redis server's own clock so replicas agree).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import msgspec

from wrapper.config import RateLimitSettings
from wrapper.errors import RateLimitedError
from wrapper.logging import get_logger

log = get_logger(__name__)

WINDOW_S = 60.0


class RateDecision(msgspec.Struct, frozen=True):
    """The outcome of one request against its group's limit."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    """Seconds until the oldest counted request leaves the window (a slot frees)."""

    def headers(self) -> list[tuple[str, str]]:
        """``x-ratelimit-limit`` / ``-remaining`` / ``-reset`` (reset in whole seconds)."""
        return [
            ("x-ratelimit-limit", str(self.limit)),
            ("x-ratelimit-remaining", str(self.remaining)),
            ("x-ratelimit-reset", str(math.ceil(self.reset_after))),
        ]


class RateLimitStore(Protocol):
    """Counts hits per key over a sliding window."""

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        """Count one request for ``key`` if fewer than ``limit`` are in the window."""
        ...


class MemoryRateLimitStore:
    """Sliding-window counters in this process (one deque of timestamps per key)."""

    _SWEEP_EVERY = 1024

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, deque[float]]] = {}
        self._hits = 0

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        now = self._clock()
        entry = self._windows.get(key)
        if entry is None:
            entry = self._windows[key] = (window_s, deque())
        stamps = entry[1]
        cutoff = now - window_s
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        allowed = len(stamps) < limit
        if allowed:
            stamps.append(now)
        reset_after = stamps[0] + window_s - now if stamps else 0.0
        self._hits += 1
        if self._hits % self._SWEEP_EVERY == 0:
            self._sweep(now)
        return RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - len(stamps)),
            reset_after=max(0.0, reset_after),
        )

    def _sweep(self, now: float) -> None:
        """Forget keys with nothing left in their window (bounded memory)."""
        stale = [
            key
            for key, (window, stamps) in self._windows.items()
            if not stamps or stamps[-1] <= now - window
        ]
        for key in stale:
            del self._windows[key]

    def __len__(self) -> int:
        return len(self._windows)


# KEYS[1] = the counter; ARGV = limit, window in ms, a unique member for this hit.
# Returns {allowed (0/1), count in window, ms until the oldest entry leaves}.
_SLIDING_WINDOW_LUA = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now, ARGV[3])
  count = count + 1
  allowed = 1
end
local reset = 0
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
if oldest[2] then
  reset = tonumber(oldest[2]) + window - now
end
redis.call('PEXPIRE', key, window)
return {allowed, count, reset}
"""


class RedisRateLimitStore:
    """Sliding-window counters in Redis, shared by every replica.

    ``client`` is a connected ``coredis.Redis`` (entered by whoever owns it); keys
    are ``<prefix>:ratelimit:<group>:<client address>`` and expire with their window.
    """

    def __init__(self, client: Any, prefix: str = "claude-wrapper") -> None:
        self._client = client
        self._prefix = f"{prefix}:ratelimit:"
        self._script = client.register_script(_SLIDING_WINDOW_LUA)

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        member = uuid.uuid4().hex
        raw = await self._script(
            keys=[self._prefix + key], args=[limit, int(window_s * 1000), member]
        )
        allowed, count, reset_ms = (int(value) for value in raw)
        return RateDecision(
            allowed=bool(allowed),
            limit=limit,
            remaining=max(0, limit - count),
            reset_after=max(0.0, reset_ms / 1000.0),
        )


def group_limits(limits: RateLimitSettings) -> dict[str, int]:
    """Requests per minute for each endpoint group (0 = that group is not limited)."""
    return {
        "chat": limits.chat,
        "debug": limits.debug,
        "auth": limits.auth,
        "sessions": limits.sessions,
        "health": limits.health,
        "general": limits.general,
    }


class RateLimiter:
    """Applies the per-group limits to one client address."""

    def __init__(
        self,
        store: RateLimitStore,
        limits: Mapping[str, int],
        *,
        enabled: bool = True,
        window_s: float = WINDOW_S,
        on_reject: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.limits = dict(limits)
        self.enabled = enabled
        self.window_s = window_s
        self._on_reject = on_reject

    def limit_for(self, group: str) -> int:
        """The limit of ``group``; groups without their own limit share ``general``'s."""
        return self.limits.get(group, self.limits.get("general", 0))

    async def check(self, group: str, client: str) -> list[tuple[str, str]]:
        """Count this request; the ``x-ratelimit-*`` headers for its response.

        A store failure lets the request through (logged): losing the limiter
        must not take the API down with it.

        Raises:
            RateLimitedError: the client used up its group's limit; ``retry_after``
                is the real wait and the error carries the ``x-ratelimit-*`` headers.
        """
        limit = self.limit_for(group)
        if not self.enabled or limit <= 0:
            return []
        bucket = group if group in self.limits else "general"
        try:
            decision = await self.store.hit(f"{bucket}:{client}", limit, self.window_s)
        except Exception:  # fail open, but say so
            log.warning("ratelimit.store_failed", group=bucket, exc_info=True)
            return []
        if decision.allowed:
            return decision.headers()
        if self._on_reject is not None:
            self._on_reject(bucket)
        wait = max(1, math.ceil(decision.reset_after))
        raise RateLimitedError(
            f"Rate limit exceeded: {limit} requests per minute for this endpoint group; "
            f"try again in {wait} seconds.",
            retry_after=decision.reset_after,
            headers=decision.headers(),
        )
