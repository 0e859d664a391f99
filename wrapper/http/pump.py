"""The stream pump: one anyio task group per streaming response.

* The **producer** runs the response's ``produce`` (which owns the backend
  turn) and feeds its frames into a small memory stream, so backpressure reaches
  the CLI. A :class:`WrapperError` it meets is handed to the writer as an item.
* The **writer** is the only caller of ``send``. It defers the response headers
  until the first frame (a failure before any output still gets its own status
  and error body), sends them anyway once ``first_byte_deadline`` passes unless
  the turn is still queued for a slot (then a refusal keeps its status), and
  sends ``: ping`` comments (or the response's own ping frame) while the
  stream is idle.
* A frame the client does not take within ``write_timeout`` (it stopped reading
  and the connection's buffers are full) ends the stream as a disconnect, so the
  turn and its slot are freed long before the turn's own deadline. One guard
  task per stream times the writes (found within 1.25x ``write_timeout``).
* The **watcher** waits on ``receive()`` for ``http.disconnect``. Hypercorn
  speaks ASGI 2.1, so ``send`` does not raise after a disconnect: the watcher is
  how the pump learns of it, and it cancels the group, which cancels the
  producer, which then ends the backend turn (shielded).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import anyio
import anyio.abc
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream

from wrapper.errors import InternalError, WrapperError
from wrapper.events import SlotWait, watching_slot_wait
from wrapper.http.asgi_types import Receive, Send
from wrapper.http.responses import (
    Headers,
    JSONResponse,
    StreamResponse,
    body_message,
    start_message,
)
from wrapper.http.sse import PING_FRAME
from wrapper.logging import get_logger

log = get_logger(__name__)


class _End:
    """Marks the end of the frame stream."""


Item = bytes | WrapperError | _End


def _queued(receiver: MemoryObjectReceiveStream[Item]) -> Item | None:
    try:
        return receiver.receive_nowait()
    except anyio.WouldBlock:
        return None


class _Writes:
    """When the frame being sent began to be sent (None between frames)."""

    __slots__ = ("since",)

    def __init__(self) -> None:
        self.since: float | None = None


class PumpOutcome:
    """What the pump did, for the request log."""

    __slots__ = ("disconnected", "error", "finished", "frames", "status")

    def __init__(self) -> None:
        self.status = 200
        self.frames = 0
        self.disconnected = False
        self.finished = False
        self.error: WrapperError | None = None


async def pump_stream(
    response: StreamResponse,
    send: Send,
    receive: Receive,
    *,
    headers: Headers,
    render_error: Callable[[WrapperError], JSONResponse],
    ping_interval: float,
    first_byte_deadline: float,
    write_timeout: float = math.inf,
) -> PumpOutcome:
    """Send ``response`` until its frames end, it fails, or the client leaves."""
    outcome = PumpOutcome()
    sender, receiver = anyio.create_memory_object_stream[Item](max_buffer_size=8)

    async def put(item: Item) -> None:
        # Straight into the buffer while it has room; a full one waits for the writer.
        try:
            sender.send_nowait(item)
        except anyio.WouldBlock:
            await sender.send(item)

    async def produce() -> None:
        async with sender:
            try:
                await response.produce(put)
            except WrapperError as exc:
                await sender.send(exc)
                return
            except Exception:
                log.exception("stream.producer_failed")
                await sender.send(InternalError("The server failed while streaming."))
                return
            await sender.send(_End())

    async def write(group: anyio.abc.TaskGroup) -> None:
        started = False

        async def send_frame(frame: bytes) -> None:
            writes.since = anyio.current_time()
            await send(body_message(frame, more=True))
            writes.since = None

        async def start(status: int = 200, extra: Headers | None = None) -> None:
            nonlocal started
            started = True
            outcome.status = status
            await send(start_message(status, headers + (extra or [])))

        async with receiver:
            while True:
                item: Item | None = _queued(receiver)
                if item is None and started:
                    # One yield lets the producer queue a frame whose message has
                    # already arrived; a frame already queued needs no ping timer.
                    await anyio.lowlevel.checkpoint()
                    item = _queued(receiver)
                if item is None:
                    with anyio.move_on_after(ping_interval if started else first_byte_deadline):
                        item = await receiver.receive()
                if item is None:
                    if not started and slot_wait.waiting:
                        continue
                    if not started:
                        await start()
                    await send_frame(response.ping_frame or PING_FRAME)
                    continue
                if isinstance(item, _End):
                    break
                if isinstance(item, WrapperError):
                    outcome.error = item
                    if not started:
                        rendered = render_error(item)
                        outcome.status = rendered.status
                        error_headers = [
                            (name, value) for name, value in headers if name != "content-type"
                        ]
                        error_headers.append(("content-type", rendered.media_type))
                        outcome.finished = True
                        await send(start_message(rendered.status, error_headers + rendered.headers))
                        await send(body_message(rendered.body))
                        group.cancel_scope.cancel()
                        return
                    await send_frame(response.error_frame(item))
                    break
                if not started:
                    await start()
                outcome.frames += 1
                await send_frame(item)
        outcome.finished = True
        with anyio.move_on_after(write_timeout):
            await send(body_message(b""))
        group.cancel_scope.cancel()

    async def guard_writes(group: anyio.abc.TaskGroup) -> None:
        # One timer for the whole stream rather than a timeout scope per frame: a
        # write still pending ``write_timeout`` after it began is found within a
        # quarter of that again.
        while True:
            since = writes.since
            now = anyio.current_time()
            if since is not None and now - since >= write_timeout:
                log.warning("stream.client_stopped_reading", write_timeout_s=write_timeout)
                outcome.disconnected = True
                group.cancel_scope.cancel()
                return
            wake = write_timeout / 4
            if since is not None:
                wake = min(wake, since + write_timeout - now)
            await anyio.sleep(wake)

    async def watch(group: anyio.abc.TaskGroup) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                outcome.disconnected = not outcome.finished
                group.cancel_scope.cancel()
                return

    slot_wait = SlotWait()
    writes = _Writes()
    async with anyio.create_task_group() as group:
        with watching_slot_wait(slot_wait):
            group.start_soon(produce)
        group.start_soon(write, group)
        group.start_soon(watch, group)
        if math.isfinite(write_timeout):
            group.start_soon(guard_writes, group)
    return outcome
