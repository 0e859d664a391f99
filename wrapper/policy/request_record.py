"""What the turns of the current request did, for its response headers and metrics.

The app starts a :class:`RequestRecord` for each routed request (in the task
that runs the handler); the observed backend finds it through a context
variable when a turn is opened — also from the tasks a stream's producer or
``n > 1`` choices run in, which inherit the context — and adds each turn's
cost to it.
"""

from __future__ import annotations

import contextvars


class RequestRecord:
    """Per-request tallies (mutated only by the turns of this request)."""

    __slots__ = ("cost_usd", "model", "streaming", "turns")

    def __init__(self) -> None:
        self.cost_usd: float | None = None
        self.turns = 0
        self.streaming = False
        self.model: str | None = None  # the model that answered (``x-claude-model``)

    def add_turn(self, cost_usd: float | None, model: str | None = None) -> None:
        self.turns += 1
        self.model = model or self.model
        if cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost_usd


_CURRENT: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "claude_wrapper_request_record", default=None
)


def start_record() -> RequestRecord:
    """A fresh record for the request running in the current context."""
    record = RequestRecord()
    _CURRENT.set(record)
    return record


def current_record() -> RequestRecord | None:
    """The record of the request running in the current context, if any."""
    return _CURRENT.get()
