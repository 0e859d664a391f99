"""The Claude plan's usage windows, from the rate-limit readings the CLI reports.

The CLI reports a reading when a response's ``anthropic-ratelimit-unified-*``
headers change its view (only when it signs in with a subscription or a gateway
token): the window it judges representative, and under ``unifiedWindows`` every
window the headers described (five-hour, seven-day, per-model weekly, overage).
:class:`PlanWindows` keeps the latest reading of each window, with when it was
seen; replicas share them through the usage store (the newest reading of a window
wins), so ``GET /v1/usage`` on any replica shows what any of them saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import msgspec

from wrapper.logging import get_logger
from wrapper.usage.flusher import Flusher
from wrapper.usage.store import UsageStore

log = get_logger(__name__)

WindowStatus = Literal["allowed", "warning", "rejected"]

READINGS_KEY = "plan-windows"
# The reading's own top-level status: whether Claude serves requests now at all (a used-up
# window may still be served from extra usage; an overage window may be rejected while
# the plan's own windows allow). Kept beside the windows under this name.
UNIFIED = "unified"

_STATUSES: dict[str, WindowStatus] = {
    "allowed": "allowed",
    "allowed_warning": "warning",
    "rejected": "rejected",
}
_RANK: dict[WindowStatus, int] = {"allowed": 0, "warning": 1, "rejected": 2}


class WindowReading(msgspec.Struct, frozen=True, kw_only=True):
    """One window as last reported, and when (Unix seconds)."""

    window: str
    status: WindowStatus
    utilization: float | None = None
    resets_at: float | None = None
    surpassed_threshold: float | None = None
    observed_at: float


class WindowView(msgspec.Struct, frozen=True, kw_only=True):
    """One window as ``GET /v1/usage`` shows it."""

    window: str
    status: WindowStatus
    utilization: float | None
    resets_at: float | None
    resets_in_s: float | None
    surpassed_threshold: float | None
    observed_at: float
    age_s: float


class PlanReport(msgspec.Struct, frozen=True, kw_only=True):
    """Every known window, the one closest to its limit, and whether Claude refuses now.

    ``status`` is the latest reading's overall status (``None`` before any reading);
    ``rejected`` is true while it is ``rejected`` and its reset has not passed.
    """

    windows: list[WindowView]
    closest: str | None
    status: WindowStatus | None
    resets_at: float | None
    rejected: bool
    shared: bool


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(WindowReading)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def readings_from(raw: Mapping[str, Any], now: float) -> list[WindowReading]:
    """The windows one CLI rate-limit reading describes (its raw JSON object)."""
    found: dict[str, WindowReading] = {}
    windows = raw.get("unifiedWindows")
    if isinstance(windows, dict):
        for name, info in windows.items():
            if not isinstance(name, str) or not isinstance(info, dict):
                continue
            status = _STATUSES.get(str(info.get("status", "allowed")), "allowed")
            found[name] = WindowReading(
                window=name,
                status=status,
                utilization=_number(info.get("utilization")),
                resets_at=_number(info.get("resetsAt")),
                surpassed_threshold=_number(info.get("surpassedThreshold")),
                observed_at=now,
            )
    name = raw.get("rateLimitType")
    top = _STATUSES.get(str(raw.get("status")))
    if top is not None:
        found[UNIFIED] = WindowReading(
            window=UNIFIED, status=top, resets_at=_number(raw.get("resetsAt")), observed_at=now
        )
    if isinstance(name, str) and top is not None:
        before = found.get(name)
        found[name] = WindowReading(
            window=name,
            status=top,
            utilization=_number(raw.get("utilization")) or (before.utilization if before else None),
            resets_at=_number(raw.get("resetsAt")) or (before.resets_at if before else None),
            surpassed_threshold=_number(raw.get("surpassedThreshold"))
            or (before.surpassed_threshold if before else None),
            observed_at=now,
        )
    overage = _STATUSES.get(str(raw.get("overageStatus")))
    if overage is not None and "overage" not in found:
        found["overage"] = WindowReading(
            window="overage",
            status=overage,
            resets_at=_number(raw.get("overageResetsAt")),
            observed_at=now,
        )
    return list(found.values())


class PlanWindows:
    """The latest reading of each window, here and (through ``store``) on every replica."""

    def __init__(
        self, store: UsageStore | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._clock = clock
        self._local: dict[str, WindowReading] = {}
        self._unsent: dict[str, WindowReading] = {}
        self._cached: dict[str, WindowReading] = {}
        self._flusher = Flusher(lambda: bool(self._unsent), self.flush)

    @property
    def shared(self) -> bool:
        return self._store is not None and self._store.kind == "redis"

    def observe(self, raw: Mapping[str, Any]) -> None:
        """Take one reading (called by the CLI processes, synchronously)."""
        for reading in readings_from(raw, self._clock()):
            self._local[reading.window] = reading
            self._unsent[reading.window] = reading
        self._flusher.poke()

    async def flush(self) -> None:
        """Write the readings taken since the last flush to the store."""
        if self._store is None or not self._unsent:
            return
        unsent, self._unsent = self._unsent, {}
        try:
            for name, reading in unsent.items():
                await self._store.put_reading(READINGS_KEY, name, _ENCODER.encode(reading))
        except Exception:  # a lost reading is only a stale view
            log.warning("usage.plan_flush_failed", exc_info=True)
            for name, reading in unsent.items():
                self._unsent.setdefault(name, reading)

    async def run_flusher(self) -> None:
        """Write each new reading out as it comes (in the app's background task group)."""
        await self._flusher.run()

    async def latest(self) -> dict[str, WindowReading]:
        """The newest reading of each window, this replica's or another's."""
        await self.flush()
        merged = dict(self._local)
        if self._store is not None:
            try:
                stored = await self._store.readings(READINGS_KEY)
            except Exception:
                log.warning("usage.plan_read_failed", exc_info=True)
                stored = {}
            for name, blob in stored.items():
                try:
                    reading = _DECODER.decode(blob)
                except msgspec.DecodeError:
                    continue
                mine = merged.get(name)
                if mine is None or reading.observed_at > mine.observed_at:
                    merged[name] = reading
        self._cached = merged
        return merged

    def cached(self) -> dict[str, WindowReading]:
        """What :meth:`latest` last found, with this replica's newer readings (no I/O)."""
        merged = dict(self._cached)
        for name, reading in self._local.items():
            mine = merged.get(name)
            if mine is None or reading.observed_at >= mine.observed_at:
                merged[name] = reading
        return merged

    def report(self, readings: Mapping[str, WindowReading]) -> PlanReport:
        """``readings`` as shown to clients, the closest window first.

        The overage window is never the closest: it is extra usage, not the plan.
        """
        now = self._clock()
        unified = readings.get(UNIFIED)
        views = [_view(reading, now) for name, reading in readings.items() if name != UNIFIED]
        views.sort(key=_closeness, reverse=True)
        plan = [view.window for view in views if view.window != "overage"]
        return PlanReport(
            windows=views,
            closest=plan[0] if plan else None,
            status=unified.status if unified else None,
            resets_at=unified.resets_at if unified else None,
            rejected=unified is not None and _refusing(unified, now),
            shared=self.shared,
        )

    def rejected_until(self) -> float | None:
        """When Claude, refusing now (as last reported), serves again (``None``: it serves)."""
        unified = self.cached().get(UNIFIED)
        if unified is None or not _refusing(unified, self._clock()):
            return None
        return unified.resets_at or self._clock()


def _view(reading: WindowReading, now: float) -> WindowView:
    return WindowView(
        window=reading.window,
        status=reading.status,
        utilization=reading.utilization,
        resets_at=reading.resets_at,
        resets_in_s=None if reading.resets_at is None else max(0.0, reading.resets_at - now),
        surpassed_threshold=reading.surpassed_threshold,
        observed_at=reading.observed_at,
        age_s=max(0.0, now - reading.observed_at),
    )


def _closeness(view: WindowView) -> tuple[int, float]:
    return (_RANK[view.status], view.utilization or 0.0)


def _refusing(reading: WindowReading, now: float) -> bool:
    return reading.status == "rejected" and (reading.resets_at is None or reading.resets_at > now)
