"""What the turns of one request cost and which model answered, for its response headers.

A handler that runs turns makes a :class:`RequestRecord`, runs them through a
:class:`RecordingBackend` around the app's backend, and puts the record's
:meth:`~RequestRecord.headers` on its complete response: ``x-claude-cost-usd``
(the sum over every turn of the request, ``n > 1`` choices included) and
``x-claude-model`` (the model that answered, a fallback model, say). The record
travels with the request's own code, never through a context variable.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

from wrapper.events import AgentEvent, Backend, Turn, TurnEnd

COST_HEADER = "x-claude-cost-usd"
MODEL_HEADER = "x-claude-model"


class RequestRecord:
    """Per-request tallies of the turns that ended."""

    __slots__ = ("cost_usd", "model", "turns")

    def __init__(self) -> None:
        self.cost_usd: float | None = None
        self.turns = 0
        self.model: str | None = None

    def add_turn(self, end: TurnEnd) -> None:
        self.turns += 1
        self.model = end.model or self.model
        if end.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + end.cost_usd

    def headers(self) -> list[tuple[str, str]]:
        """The response headers of what was recorded (none before a turn ended)."""
        headers: list[tuple[str, str]] = []
        if self.cost_usd is not None:
            headers.append((COST_HEADER, f"{self.cost_usd:.6f}"))
        if self.model is not None:
            headers.append((MODEL_HEADER, self.model))
        return headers


class RecordingBackend:
    """``inner`` with every turn's end added to ``record``; events pass unchanged."""

    def __init__(self, inner: Backend, record: RequestRecord) -> None:
        self.inner = inner
        self.record = record

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        async with self.inner.open(turn) as events:
            recorded = self._record(events)
            try:
                yield recorded
            finally:
                await recorded.aclose()

    async def _record(self, events: AsyncIterator[AgentEvent]) -> AsyncGenerator[AgentEvent, None]:
        async for event in events:
            if isinstance(event, TurnEnd):
                self.record.add_turn(event)
            yield event
