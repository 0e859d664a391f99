"""What each client key spent: model requests, tokens and cost, in total, today, this month.

Counters live in the usage store under ``key:<name>:total``, ``key:<name>:day:<date>``
and ``key:<name>:month:<yyyy-mm>`` (UTC), so they survive restarts (SQLite) and are
shared by replicas (Redis). Days and months expire after they are over.

Adding is write-behind: a request only merges its amounts into what is pending, and
one flusher writes everything pending in one store write, so under load many requests
share one write. A read of a key's spend flushes first, so this replica's budgets see
every request it admitted; a caller that needs a write to be seen by other replicas at
once (a key with a budget) flushes itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import anyio
import msgspec
import structlog

from wrapper.usage.flusher import Flusher
from wrapper.usage.store import Addition, UsageStore

log = structlog.get_logger(__name__)

_DAY_TTL_S = 3 * 86400.0
_MONTH_TTL_S = 40 * 86400.0
# A flush waits this long after the last one, so that requests share a write; a crash
# loses at most this much of the counters (a graceful stop flushes everything).
FLUSH_INTERVAL_S = 1.0


class Spend(msgspec.Struct, frozen=True, kw_only=True):
    """Requests, tokens and dollars over a period."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def _spend(values: dict[str, float]) -> Spend:
    return Spend(
        requests=int(values.get("requests", 0)),
        input_tokens=int(values.get("input_tokens", 0)),
        output_tokens=int(values.get("output_tokens", 0)),
        cost_usd=round(values.get("cost_usd", 0.0), 6),
    )


class KeySpend(msgspec.Struct, frozen=True, kw_only=True):
    """One key's spend over its three periods."""

    total: Spend
    today: Spend
    this_month: Spend


def next_day(now: float) -> float:
    """The Unix time of the next UTC midnight."""
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=1)).timestamp()


def next_month(now: float) -> float:
    """The Unix time the next UTC month begins."""
    moment = datetime.fromtimestamp(now, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC).timestamp()


class KeyLedger:
    """Adds to and reads the spend of client keys."""

    def __init__(
        self,
        store: UsageStore,
        clock: Callable[[], float] = time.time,
        *,
        flush_interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self.store = store
        self._clock = clock
        self._pending: dict[str, tuple[dict[str, float], float | None]] = {}
        self._flusher = Flusher(
            lambda: bool(self._pending), self.flush, interval_s=flush_interval_s
        )
        # Writes and deletes of counters take turns, so a flush cannot land after a reset.
        self._writing = anyio.Lock()

    def _keys(self, name: str) -> tuple[str, str, str]:
        moment = datetime.fromtimestamp(self._clock(), UTC)
        base = f"key:{name}"
        return (
            f"{base}:total",
            f"{base}:day:{moment:%Y-%m-%d}",
            f"{base}:month:{moment:%Y-%m}",
        )

    def _merge(self, key: str, amounts: Mapping[str, float], ttl_s: float | None) -> None:
        values, _ = self._pending.setdefault(key, ({}, ttl_s))
        for field, amount in amounts.items():
            values[field] = values.get(field, 0.0) + amount

    def _add(self, name: str, amounts: dict[str, float]) -> None:
        total, day, month = self._keys(name)
        for key, ttl_s in ((total, None), (day, _DAY_TTL_S), (month, _MONTH_TTL_S)):
            self._merge(key, amounts, ttl_s)
        self._flusher.poke()

    def add_request(self, name: str) -> None:
        self._add(name, {"requests": 1})

    def add_turn(
        self, name: str, *, input_tokens: int, output_tokens: int, cost_usd: float | None
    ) -> None:
        amounts: dict[str, float] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
        if cost_usd:
            amounts["cost_usd"] = cost_usd
        self._add(name, amounts)

    async def flush(self) -> None:
        """Write what is pending to the store; kept pending if the store fails."""
        async with self._writing:
            if not self._pending:
                return
            pending, self._pending = self._pending, {}
            additions: list[Addition] = [(k, v, ttl) for k, (v, ttl) in pending.items()]
            try:
                await self.store.add_many(additions)
            except Exception:
                log.warning("usage.store_failed", action="flush", exc_info=True)
                for key, (values, ttl_s) in pending.items():
                    self._merge(key, values, ttl_s)

    async def run_flusher(self) -> None:
        """Write additions out as they come (in the app's background task group)."""
        await self._flusher.run()

    async def spend(self, name: str) -> KeySpend:
        await self.flush()
        total, today, month = await self.store.counters(list(self._keys(name)))
        return KeySpend(total=_spend(total), today=_spend(today), this_month=_spend(month))

    async def forget(self, name: str) -> None:
        """Start the key's counters over (its budgets are restored)."""
        keys = self._keys(name)
        async with self._writing:
            for key in keys:
                self._pending.pop(key, None)
            await self.store.delete(list(keys))
