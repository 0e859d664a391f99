"""Reading one turn from a CLI process: deadline, translation, and the reply as delivered."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, Protocol, TypeVar

import anyio
import anyio.lowlevel
from claude_agent_sdk.types import Message as SdkMessage

from wrapper.backend.profile import Profile
from wrapper.backend.sdk_events import TurnReader
from wrapper.errors import BackendTimeoutError
from wrapper.events import (
    AgentEvent,
    BlockStart,
    Message,
    Part,
    TextDelta,
    TextPart,
    ToolInputDelta,
    ToolUsePart,
    Turn,
    TurnEnd,
)

P = TypeVar("P")


class MessageSource(Protocol):
    """A process whose running turn is read (a CLI process, or a test's fake).

    ``next_message`` raises a WrapperError when the turn fails: the CLI process
    classifies its failures at the SDK boundary (``sdk_errors.sdk_failures``).
    """

    async def next_message(self) -> SdkMessage: ...

    def next_message_nowait(self) -> SdkMessage | None:
        """The next message if it has already arrived, else None."""


S = TypeVar("S", bound=MessageSource)


class Deadline:
    """A point in time a turn must finish by (``MAX_TIMEOUT``)."""

    __slots__ = ("at", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.at = anyio.current_time() + timeout

    def remaining(self) -> float:
        return max(0.0, self.at - anyio.current_time())

    def expired_error(self) -> BackendTimeoutError:
        return BackendTimeoutError(
            f"The request ran past MAX_TIMEOUT ({round(self.timeout * 1000)} ms) and was stopped."
        )


def reader_for(turn: Turn, profile: Profile, *, cost_before: float = 0.0) -> TurnReader:
    """The SDK-message reader for ``turn`` served by ``profile``."""
    surfaced = () if turn.tool_choice.mode == "none" else profile.tool_names
    return TurnReader(
        model=turn.model,
        client_tools=surfaced,
        structured_output=turn.output_schema is not None,
        parallel_tool_calls=turn.parallel_tool_calls,
        cost_before=cost_before,
        show_tool_steps=profile.server_tools,
        join_deltas=not turn.streamed,
    )


class ReplyRecorder:
    """Builds the assistant message the client receives, from the events it receives."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: dict[int, tuple[str, str, list[str]]] = {}
        self.end: TurnEnd | None = None

    def add(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, BlockStart) and event.type == "tool_use":
            self._calls[event.index] = (event.tool_id or "", event.tool_name or "", [])
        elif isinstance(event, ToolInputDelta) and event.index in self._calls:
            self._calls[event.index][2].append(event.partial_json)
        elif isinstance(event, TurnEnd):
            self.end = event

    def message(self) -> Message:
        parts: list[Part] = []
        text = "".join(self._text)
        if text:
            parts.append(TextPart(text=text))
        for _, (call_id, name, pieces) in sorted(self._calls.items()):
            raw = "".join(pieces)
            try:
                arguments = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError:
                arguments = {}
            parts.append(ToolUsePart(id=call_id, name=name, input=arguments))
        return Message(role="assistant", content=tuple(parts))

    @property
    def tool_use_ids(self) -> tuple[str, ...]:
        return tuple(call_id for call_id, _, _ in self._calls.values())


class TurnEvents(Generic[P]):
    """The events of one turn, and the CLI process that produces them.

    The layers around a backend that police the process (the CPU budget) find it
    here: the process travels with the events, not through the call stack.
    """

    __slots__ = ("_events", "process")

    def __init__(self, process: P, events: AsyncGenerator[AgentEvent, None]) -> None:
        self.process = process
        self._events = events

    def __aiter__(self) -> TurnEvents[P]:
        return self

    async def __anext__(self) -> AgentEvent:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        await self._events.aclose()


def read_turn(
    process: S,
    reader: TurnReader,
    deadline: Deadline,
    recorder: ReplyRecorder | None = None,
    *,
    before_end: Callable[[TurnEnd], Awaitable[None]] | None = None,
) -> TurnEvents[S]:
    """The events of the turn ``process`` is running, until ``reader`` says it is over.

    ``before_end`` runs before the turn's end is yielded (a session turn is made
    durable there, before the client's response completes). Iterating raises
    BackendTimeoutError when the deadline passes and a WrapperError when the
    turn fails.
    """
    return TurnEvents(process, _events(process, reader, deadline, recorder, before_end))


async def _events(
    process: MessageSource,
    reader: TurnReader,
    deadline: Deadline,
    recorder: ReplyRecorder | None,
    before_end: Callable[[TurnEnd], Awaitable[None]] | None,
) -> AsyncGenerator[AgentEvent, None]:
    while not reader.done:
        message = process.next_message_nowait()
        if message is None:
            # The SDK's reader hands over one line per turn of the event loop: a yield
            # lets it queue the next one it has already read, which is then taken
            # without a timeout scope (a scope costs about three yields).
            await anyio.lowlevel.checkpoint()
            message = process.next_message_nowait()
        if message is None:
            # The queue ran dry: the CLI has not written the next message yet. This
            # wait, and every wait, is bounded by what remains of the deadline; only
            # the deadline ending it leaves ``message`` unset.
            with anyio.CancelScope(deadline=deadline.at):
                message = await process.next_message()
            if message is None:
                raise deadline.expired_error()
        for event in reader.feed(message):
            if isinstance(event, TurnEnd) and before_end is not None:
                with anyio.fail_after(max(deadline.remaining(), 5.0)):
                    await before_end(event)
            if recorder is not None:
                recorder.add(event)
            yield event
