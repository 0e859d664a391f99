"""A block's deltas handed on as one, for a client that reads the reply only at its end.

Claude streams a reply a word or so at a time, and every delta would otherwise
travel through each layer around the backend and the response builder on its
own. A client that does not stream sees only the finished reply, so the deltas
of one block that follow each other are joined into one event. The first delta
of the turn is passed on as it comes: the time to the first token is still
measured when it happens, and a retry still knows that output has started.
"""

from __future__ import annotations

from wrapper.events import AgentEvent, TextDelta, ThinkingDelta, ToolInputDelta

_Joinable = TextDelta | ThinkingDelta | ToolInputDelta


def _piece(event: _Joinable) -> str:
    if isinstance(event, TextDelta):
        return event.text
    if isinstance(event, ThinkingDelta):
        return event.thinking
    return event.partial_json


def _joined(first: _Joinable, pieces: list[str]) -> _Joinable:
    text = "".join(pieces)
    if isinstance(first, TextDelta):
        return TextDelta(index=first.index, text=text)
    if isinstance(first, ThinkingDelta):
        return ThinkingDelta(index=first.index, thinking=text)
    return ToolInputDelta(index=first.index, partial_json=text)


class DeltaJoiner:
    """Joins the consecutive deltas of one block across the batches it is given."""

    __slots__ = ("_first", "_passed_one", "_pieces")

    def __init__(self) -> None:
        self._first: _Joinable | None = None
        self._pieces: list[str] = []
        self._passed_one = False

    def join(self, events: list[AgentEvent], *, final: bool) -> list[AgentEvent]:
        """``events`` with runs of deltas joined; a trailing run is held unless ``final``."""
        out: list[AgentEvent] = []
        for event in events:
            if isinstance(event, _Joinable) and self._passed_one:
                first = self._first
                if first is not None and type(first) is type(event) and first.index == event.index:
                    self._pieces.append(_piece(event))
                    continue
                self._flush(out)
                self._first = event
                self._pieces = [_piece(event)]
                continue
            self._flush(out)
            if isinstance(event, _Joinable):
                self._passed_one = True
            out.append(event)
        if final:
            self._flush(out)
        return out

    def _flush(self, out: list[AgentEvent]) -> None:
        if self._first is None:
            return
        out.append(self._first if len(self._pieces) == 1 else _joined(self._first, self._pieces))
        self._first = None
        self._pieces = []
