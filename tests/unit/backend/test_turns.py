"""Reading one turn from a process: queued messages, waits and the deadline."""

from __future__ import annotations

from collections import deque

import anyio
import pytest
from claude_agent_sdk.types import Message as SdkMessage

from tests.fakes.pool_process import text_turn
from wrapper.backend.sdk_events import TurnReader
from wrapper.backend.turns import Deadline, ReplyRecorder, read_turn
from wrapper.errors import BackendTimeoutError
from wrapper.events import AgentEvent, TextDelta, TurnEnd

pytestmark = pytest.mark.anyio


class Source:
    """A process whose messages arrive as the test delivers them.

    ``ready`` messages are taken without a wait; ``late`` ones only arrive once the
    reader has yielded to the event loop (as the SDK's reader task queues a line it
    has already read), and ``awaited`` ones only through a wait.
    """

    def __init__(self) -> None:
        self.ready: deque[SdkMessage] = deque()
        self.late: deque[SdkMessage] = deque()
        self.awaited: deque[SdkMessage] = deque()
        self.waits = 0
        self._mail = anyio.Event()

    def deliver(self, message: SdkMessage) -> None:
        self.awaited.append(message)
        self._mail.set()

    async def next_message(self) -> SdkMessage:
        self.waits += 1
        self.awaited.extend(self.ready)
        self.awaited.extend(self.late)
        self.ready.clear()
        self.late.clear()
        while not self.awaited:
            self._mail = anyio.Event()
            await self._mail.wait()
        return self.awaited.popleft()

    def next_message_nowait(self) -> SdkMessage | None:
        if self.ready:
            return self.ready.popleft()
        if self.late:
            # Arrives on the next call, as if the SDK's reader ran in between.
            self.ready.append(self.late.popleft())
        return None


def _reader() -> TurnReader:
    return TurnReader(model="claude-sonnet-4-5", client_tools=())


async def test_queued_messages_are_read_without_a_wait() -> None:
    source = Source()
    source.ready.extend(text_turn("hello"))
    recorder = ReplyRecorder()
    events = [event async for event in read_turn(source, _reader(), Deadline(60), recorder)]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["hello"]
    assert isinstance(events[-1], TurnEnd)
    assert recorder.message().content[0].text == "hello"  # type: ignore[union-attr]
    assert source.waits == 0


async def test_a_message_queued_after_a_yield_is_read_without_a_wait() -> None:
    source = Source()
    source.late.extend(text_turn("hello"))
    events = [event async for event in read_turn(source, _reader(), Deadline(60))]
    assert isinstance(events[-1], TurnEnd)
    assert source.waits == 0


async def test_a_message_the_cli_has_not_written_yet_is_waited_for() -> None:
    source = Source()
    messages = text_turn("hello")
    source.ready.extend(messages[:-1])
    events = read_turn(source, _reader(), Deadline(60))
    seen: list[AgentEvent] = []
    async for event in events:
        seen.append(event)
        if len(seen) == 1:
            source.deliver(messages[-1])
    assert isinstance(seen[-1], TurnEnd)
    assert source.waits == 1


async def test_a_wait_past_the_deadline_is_a_timeout() -> None:
    source = Source()
    source.ready.extend(text_turn("hello")[:2])
    deadline = Deadline(0.05)
    seen: list[AgentEvent] = []

    async def read() -> None:
        async for event in read_turn(source, _reader(), deadline):
            seen.append(event)

    with pytest.raises(BackendTimeoutError, match="MAX_TIMEOUT"):
        await read()
    assert len(seen) == 2
    assert source.waits == 1
    assert deadline.remaining() == 0.0
