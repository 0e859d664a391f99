"""What each client key spent: model requests, tokens and cost, in total, today, this month.

Counters live in the usage store under ``key:<name>:total``, ``key:<name>:day:<date>``
and ``key:<name>:month:<yyyy-mm>`` (UTC), so they survive restarts (SQLite) and are
shared by replicas (Redis). Days and months expire after they are over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from wrapper.usage.store import UsageStore

_DAY_TTL_S = 3 * 86400.0
_MONTH_TTL_S = 40 * 86400.0


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

    def __init__(self, store: UsageStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    def _keys(self, name: str) -> tuple[str, str, str]:
        moment = datetime.fromtimestamp(self._clock(), UTC)
        base = f"key:{name}"
        return (
            f"{base}:total",
            f"{base}:day:{moment:%Y-%m-%d}",
            f"{base}:month:{moment:%Y-%m}",
        )

    async def _add(self, name: str, amounts: dict[str, float]) -> None:
        total, day, month = self._keys(name)
        await self.store.add(total, amounts, None)
        await self.store.add(day, amounts, _DAY_TTL_S)
        await self.store.add(month, amounts, _MONTH_TTL_S)

    async def add_request(self, name: str) -> None:
        await self._add(name, {"requests": 1})

    async def add_turn(
        self, name: str, *, input_tokens: int, output_tokens: int, cost_usd: float | None
    ) -> None:
        amounts: dict[str, float] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
        if cost_usd:
            amounts["cost_usd"] = cost_usd
        await self._add(name, amounts)

    async def spend(self, name: str) -> KeySpend:
        total, today, month = await self.store.counters(list(self._keys(name)))
        return KeySpend(total=_spend(total), today=_spend(today), this_month=_spend(month))

    async def forget(self, name: str) -> None:
        """Start the key's counters over (its budgets are restored)."""
        await self.store.delete(list(self._keys(name)))
