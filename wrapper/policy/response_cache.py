"""The opt-in response cache: identical non-stream requests answered once.

Two switches: the server's ``REQUEST_CACHE_ENABLED`` and, per request,
``X-Enable-Cache: true|1|yes``. An entry is keyed by the canonical request —
the decoded :class:`~wrapper.events.Turn` (messages, system prompt, tools,
tool choice, output schema, session id, every generation option) plus the
options that shape the response — encoded by msgspec with sorted keys and
hashed, so two requests that mean the same thing share an entry however their
JSON was written, and requests that differ in anything the model sees never
do. Entries live ``REQUEST_CACHE_TTL_SECONDS``; beyond
``REQUEST_CACHE_MAX_SIZE`` the least recently used goes. Only successful
responses are stored: an error is never cached. Handlers call
:func:`cached_json` for their non-stream responses. Turns that continue a
server-side session are never cached: their answer depends on the session's
stored history, which the key cannot see.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec

from wrapper.http.responses import JSONResponse, json_response

T = TypeVar("T")

_OPT_IN = frozenset({"true", "1", "yes"})
_ENCODER = msgspec.json.Encoder(order="deterministic")


class CacheStats(msgspec.Struct, frozen=True, kw_only=True):
    """What ``GET /v1/cache/stats`` reports."""

    enabled: bool
    max_size: int
    ttl_seconds: float
    current_size: int
    hits: int
    misses: int
    hit_rate_percent: float
    stores: int
    evictions: int
    expirations: int


class ResponseCache:
    """A TTL + LRU map from canonical request keys to finished responses."""

    def __init__(
        self,
        *,
        enabled: bool,
        ttl_s: float,
        max_size: int,
        clock: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[bool], None] | None = None,
    ) -> None:
        self.enabled = enabled
        self._on_lookup = on_lookup
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.stores = 0
        self.evictions = 0
        self.expirations = 0

    def opted_in(self, headers: Mapping[str, str]) -> bool:
        """Whether this request may use the cache (server switch and its header)."""
        return self.enabled and headers.get("x-enable-cache", "").strip().lower() in _OPT_IN

    @staticmethod
    def key(*parts: Any) -> str:
        """The canonical key of a request made of ``parts`` (Structs and plain data)."""
        return hashlib.sha256(_ENCODER.encode(parts)).hexdigest()

    def get(self, key: str) -> Any | None:
        """The cached value for ``key``, or ``None`` (expired entries are dropped)."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] <= self._clock():
            del self._entries[key]
            self.expirations += 1
            entry = None
        if self._on_lookup is not None:
            self._on_lookup(entry is not None)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (a finished, successful response) under ``key``."""
        self._entries[key] = (self._clock() + self.ttl_s, value)
        self._entries.move_to_end(key)
        self.stores += 1
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)
            self.evictions += 1

    async def through(
        self,
        headers: Mapping[str, str],
        parts: tuple[Any, ...],
        compute: Callable[[], Awaitable[T]],
        *,
        cacheable: bool = True,
    ) -> tuple[T, str | None]:
        """``compute()``'s result, from the cache when the request opted in.

        Also returns ``"hit"`` or ``"miss"`` when the cache was consulted (for the
        ``x-cache`` header), else ``None``. ``compute`` raising stores nothing
        (errors are never cached). ``cacheable=False`` bypasses the cache (a turn
        whose answer depends on state the key cannot see, such as a server-side
        session's history).
        """
        if not cacheable or not self.opted_in(headers):
            return await compute(), None
        key = self.key(*parts)
        cached = self.get(key)
        if cached is not None:
            return cached, "hit"
        value = await compute()
        self.put(key, value)
        return value, "miss"

    def clear(self) -> int:
        """Drop every entry; how many there were."""
        count = len(self._entries)
        self._entries.clear()
        return count

    def stats(self) -> CacheStats:
        lookups = self.hits + self.misses
        return CacheStats(
            enabled=self.enabled,
            max_size=self.max_size,
            ttl_seconds=self.ttl_s,
            current_size=len(self._entries),
            hits=self.hits,
            misses=self.misses,
            hit_rate_percent=round(100.0 * self.hits / lookups, 2) if lookups else 0.0,
            stores=self.stores,
            evictions=self.evictions,
            expirations=self.expirations,
        )


async def cached_json(
    cache: ResponseCache | None,
    headers: Mapping[str, str],
    parts: tuple[Any, ...],
    compute: Callable[[], Awaitable[T]],
    *,
    renew: Callable[[T], T],
    cacheable: bool = True,
) -> JSONResponse:
    """A handler's complete JSON response, through ``cache`` when the request opted in.

    ``parts`` is the canonical request (the Turn and the presentation options);
    ``renew`` gives a cached response its fresh ids. The response says ``x-cache:
    hit`` or ``miss`` when the cache was consulted.
    """
    if cache is None:
        return json_response(await compute())
    result, outcome = await cache.through(headers, parts, compute, cacheable=cacheable)
    if outcome == "hit":
        result = renew(result)
    return json_response(result, headers=[("x-cache", outcome)] if outcome else ())
