"""A scripted in-process backend: implements ``wrapper.events.Backend`` without any CLI.

Each ``open(turn)`` plays the next script (the last one repeats). A script is a
list of steps: an :data:`AgentEvent` is yielded, a ``WrapperError`` (or any
exception) is raised, and a :class:`Call` awaits its coroutine function (to wait
on an event the test controls, or to hang until cancelled). The backend records
every turn it was given and how each context exited, so tests can prove that a
disconnect or an error released the turn.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Literal

import anyio

from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    MessageStart,
    StopReason,
    TextDelta,
    Turn,
    TurnEnd,
    Usage,
)


class Call:
    """A step that awaits ``function()`` before the script goes on."""

    __slots__ = ("function",)

    def __init__(self, function: Callable[[], Awaitable[object]]) -> None:
        self.function = function


def hang() -> Call:
    """A step that waits until the turn is cancelled."""
    return Call(anyio.sleep_forever)


Step = AgentEvent | BaseException | Call
Exit = Literal["normal", "error", "cancelled"]


def text_events(
    *pieces: str,
    model: str = "claude-test",
    stop_reason: StopReason = "end_turn",
    usage: Usage | None = None,
) -> list[AgentEvent]:
    """A whole text reply: message start, one text block in ``pieces``, turn end."""
    final = usage or Usage(input_tokens=10, output_tokens=len(pieces))
    return [
        MessageStart(model=model, usage=Usage(input_tokens=final.input_tokens)),
        BlockStart(index=0, type="text"),
        *(TextDelta(index=0, text=piece) for piece in pieces),
        BlockStop(index=0),
        TurnEnd(stop_reason=stop_reason, usage=final, model=model),
    ]


class FakeBackend:
    """Answers every turn from scripts; records turns and context exits."""

    def __init__(self, *scripts: Sequence[Step]) -> None:
        if not scripts:
            raise ValueError("give at least one script")
        self._scripts = [list(script) for script in scripts]
        self.turns: list[Turn] = []
        self.exits: list[Exit] = []

    @property
    def open_turns(self) -> int:
        """Turns whose context has been entered but not exited."""
        return len(self.turns) - len(self.exits)

    def _next_script(self) -> list[Step]:
        return self._scripts.pop(0) if len(self._scripts) > 1 else list(self._scripts[0])

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        self.turns.append(turn)
        script = self._next_script()
        events = self._play(script)
        outcome: Exit = "error"
        try:
            yield events
            outcome = "normal"
        except anyio.get_cancelled_exc_class():
            outcome = "cancelled"
            raise
        finally:
            await events.aclose()
            self.exits.append(outcome)

    async def _play(self, script: list[Step]) -> AsyncGenerator[AgentEvent, None]:
        for step in script:
            if isinstance(step, Call):
                await step.function()
            elif isinstance(step, BaseException):
                raise step
            else:
                yield step
