"""Stop sequences, applied by this server (the CLI cannot pass them upstream).

Text is held back only while it could still be the start of a stop sequence, so
streaming stays incremental. Once a sequence matches, nothing after it is sent;
the backend turn still runs to its end so that usage is Claude's real count.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from wrapper.events import AgentEvent, BlockStart, BlockStop, TextDelta, TurnEnd


class StopScanner:
    """Finds the first stop sequence in text that arrives in pieces."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(stop for stop in stops if stop)
        self._held = ""

    def feed(self, text: str) -> tuple[str, str | None]:
        """Text safe to emit now, and the stop sequence matched (if any)."""
        buffer = self._held + text
        # Generation stops where a sequence is first complete: the earliest *end*
        # wins (then the earliest start), so the result never depends on how the
        # text was split into deltas.
        first: tuple[int, int, str] | None = None
        for stop in self.stops:
            at = buffer.find(stop)
            if at != -1 and (first is None or (at + len(stop), at) < first[:2]):
                first = (at + len(stop), at, stop)
        if first is not None:
            self._held = ""
            return buffer[: first[1]], first[2]
        keep = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(buffer)), 0, -1):
                if buffer.endswith(stop[:size]):
                    keep = max(keep, size)
                    break
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep], None

    def flush(self) -> str:
        """Text held back when the block ended without a match."""
        held, self._held = self._held, ""
        return held


async def apply_stop_sequences(
    events: AsyncIterator[AgentEvent], stops: Sequence[str]
) -> AsyncGenerator[AgentEvent, None]:
    """``events`` with text cut at the first stop sequence and the stop reason set."""
    if not stops:
        async for event in events:
            yield event
        return
    scanners: dict[int, StopScanner] = {}
    matched: str | None = None
    async for event in events:
        if matched is not None:
            if isinstance(event, TurnEnd):
                yield TurnEnd(
                    stop_reason="stop_sequence",
                    stop_sequence=matched,
                    usage=event.usage,
                    model=event.model,
                    cost_usd=event.cost_usd,
                    session_id=event.session_id,
                )
            # Keep reading to the end (TurnEnd is the last event) so the backend's
            # iterator is exhausted rather than abandoned.
            continue
        if isinstance(event, BlockStart) and event.type == "text":
            scanners[event.index] = StopScanner(stops)
            yield event
        elif isinstance(event, TextDelta) and event.index in scanners:
            text, matched = scanners[event.index].feed(event.text)
            if text:
                yield TextDelta(index=event.index, text=text)
            if matched is not None:
                yield BlockStop(index=event.index)
        elif isinstance(event, BlockStop) and event.index in scanners:
            held = scanners.pop(event.index).flush()
            if held:
                yield TextDelta(index=event.index, text=held)
            yield event
        else:
            yield event
