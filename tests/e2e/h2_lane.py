"""An HTTP/2 client connection that really resets the streams it gives up on.

httpx (httpcore 1.0) does not send ``RST_STREAM`` when a request is cancelled
or a response is closed early: the server never learns that the client left
until the connection closes. A disconnect storm over HTTP/2 needs real resets,
so this lane speaks HTTP/2 itself (prior knowledge, cleartext, with the ``h2``
package), one stream at a time over one connection, and resets each stream it
cuts with ``CANCEL``.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

import anyio
import anyio.abc
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions


class H2Lane:
    """One HTTP/2 connection to ``host:port``; see the module docstring."""

    def __init__(self, stream: anyio.abc.SocketStream, authority: str) -> None:
        self._stream = stream
        self._authority = authority
        self._conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.resets = 0

    @classmethod
    async def open(cls, host: str, port: int) -> H2Lane:
        stream = await anyio.connect_tcp(host, port)
        lane = cls(stream, f"{host}:{port}")
        lane._conn.initiate_connection()
        await lane._flush()
        return lane

    async def aclose(self) -> None:
        self._conn.close_connection()
        with anyio.CancelScope(shield=True):
            with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await self._flush()
            await self._stream.aclose()

    async def post(
        self, path: str, body: dict[str, Any], *, cut_after: float, cut_at: bytes | None = None
    ) -> bool:
        """POST ``body``; reset the stream after ``cut_after`` seconds, or as soon as the
        response carries ``cut_at``. True when the response ended first."""
        payload = json.dumps(body).encode()
        stream_id = self._conn.get_next_available_stream_id()
        self._conn.send_headers(
            stream_id,
            [
                (":method", "POST"),
                (":scheme", "http"),
                (":authority", self._authority),
                (":path", path),
                ("content-type", "application/json"),
                ("content-length", str(len(payload))),
            ],
        )
        self._conn.send_data(stream_id, payload, end_stream=True)
        await self._flush()
        ended = cut = False
        with anyio.move_on_after(cut_after):
            while not (ended or cut):
                data = await self._stream.receive()
                for event in self._conn.receive_data(data):
                    if isinstance(event, h2.events.ConnectionTerminated):
                        raise ConnectionError(f"the server ended the connection: {event}")
                    if isinstance(event, h2.events.DataReceived):
                        self._acknowledge(event)
                    if getattr(event, "stream_id", None) != stream_id:
                        continue
                    if isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                        ended = True
                    elif isinstance(event, h2.events.DataReceived) and cut_at is not None:
                        cut = cut or cut_at in event.data
                await self._flush()
        if not ended:
            self._conn.reset_stream(stream_id, error_code=h2.errors.ErrorCodes.CANCEL)
            self.resets += 1
        await self._flush()
        return ended

    def _acknowledge(self, event: h2.events.DataReceived) -> None:
        # A stream this lane reset: h2 credits the connection's window by itself.
        with suppress(h2.exceptions.StreamClosedError):
            self._conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)

    async def _flush(self) -> None:
        data = self._conn.data_to_send()
        if data:
            await self._stream.send(data)
