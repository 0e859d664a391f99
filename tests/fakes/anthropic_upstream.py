"""A scriptable fake of Anthropic's Messages API, served on 127.0.0.1 for the real CLI.

The bundled ``claude`` CLI honours ``ANTHROPIC_BASE_URL``; pointed here, it runs
end to end against replies the tests script. The fake runs hypercorn in a
background thread (its own event loop), records every request, and answers:

* ``POST /v1/messages`` with a scripted :class:`Reply` streamed as standard
  Anthropic SSE (or an HTTP error), chosen by the first rule whose *marker*
  appears in the request's messages or system prompt; without a match it
  echoes the last user text (``"You said: ..."``), word by word;
* ``POST /v1/messages/count_tokens`` with a deterministic count;
* ``GET /v1/models`` with a configurable, paginated model list.

Only loopback is ever bound.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

Send = Callable[[dict[str, Any]], Any]

# --------------------------------------------------------------------------------------
# Script


@dataclass
class Text:
    text: str
    chunks: list[str] | None = None

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return self.chunks
        return re.findall(r"\s*\S+\s*|\s+", self.text) or [""]


@dataclass
class Thinking:
    thinking: str
    signature: str = "sig-fake-0001"


@dataclass
class ToolUse:
    name: str
    input: dict[str, Any]
    id: str | None = None
    chunks: list[str] | None = None

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return self.chunks
        raw = json.dumps(self.input)
        middle = max(1, len(raw) // 2)
        return [raw[:middle], raw[middle:]]


Block = Text | Thinking | ToolUse


@dataclass
class Reply:
    """One scripted answer of the fake upstream."""

    blocks: list[Block] = field(default_factory=list)
    stop_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    first_delay: float = 0.0
    status: int = 200
    error_type: str | None = None
    error_message: str = "fake upstream error"
    fail_after_chunks: int | None = None
    hang_after_chunks: int | None = None
    # Extra response headers (the ``anthropic-ratelimit-unified-*`` ones, say).
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, text: str, **kwargs: Any) -> Reply:
        return cls(blocks=[Text(text)], **kwargs)

    @classmethod
    def tool(cls, name: str, arguments: dict[str, Any], **kwargs: Any) -> Reply:
        return cls(blocks=[ToolUse(name, arguments)], **kwargs)

    @classmethod
    def error(cls, status: int, error_type: str, message: str = "fake upstream error") -> Reply:
        return cls(status=status, error_type=error_type, error_message=message)


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    at: float
    # For /v1/messages: set when the answer ended, completed or cut off by the client.
    ended: bool = False
    hung_up: bool = False

    @property
    def text(self) -> str:
        return json.dumps(self.body, ensure_ascii=False)

    def system_text(self) -> str:
        system = self.body.get("system") if isinstance(self.body, dict) else None
        if isinstance(system, str):
            return system
        if isinstance(system, list):
            return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
        return ""


@dataclass
class _Rule:
    marker: str
    replies: list[Reply]
    used: int = 0

    def next(self) -> Reply:
        reply = self.replies[min(self.used, len(self.replies) - 1)]
        self.used += 1
        return reply


def last_user_text(body: dict[str, Any]) -> str:
    """The last user text block that is not a CLI ``<system-reminder>``."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        for block in reversed(content or []):
            if block.get("type") == "text" and not block.get("text", "").startswith(
                "<system-reminder>"
            ):
                return str(block["text"])
            if block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, str):
                    return inner
                texts = [b.get("text", "") for b in inner or [] if isinstance(b, dict)]
                return " ".join(t for t in texts if t)
    return ""


# --------------------------------------------------------------------------------------
# Server


class FakeUpstream:
    """The fake API. ``with FakeUpstream() as upstream: upstream.url ...``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self.requests: list[Recorded] = []
        self.models: list[dict[str, Any]] = []
        self.models_status = 200
        self.models_page_size = 2
        # Headers on every messages answer (a reply's own headers win).
        self.headers: dict[str, str] = {}
        # Messages requests being answered right now; a client (the CLI) that hangs up
        # ends its request here at once, so this drops to 0 when generation stopped.
        self.active = 0
        self._fd = -1
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeUpstream:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self._fd = sock.detach()  # hypercorn owns (and closes) the listening socket
        self._thread = threading.Thread(target=self._run, name="fake-upstream", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake upstream did not start")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        # Clients (the CLI) hang up mid-stream on purpose in tests; that is not an error here.
        loop.set_exception_handler(lambda _loop, _context: None)
        self._loop = loop
        asyncio.set_event_loop(loop)
        config = Config()
        config.bind = [f"fd://{self._fd}"]
        config.accesslog = None
        config.errorlog = None
        config.loglevel = "ERROR"
        config.graceful_timeout = 0.1
        config.keep_alive_timeout = 30

        async def main() -> None:
            self._stop = asyncio.Event()
            self._ready.set()
            # A plain-dict ASGI app: hypercorn types scopes and events as its own TypedDicts.
            await serve(self._asgi, config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ---------------------------------------------------------------------

    def script(self, marker: str, *replies: Reply) -> None:
        """Answer requests containing ``marker`` with ``replies`` in turn (the last repeats)."""
        with self._lock:
            self._rules.insert(0, _Rule(marker, list(replies)))

    def recorded(self, marker: str | None = None, path: str = "/v1/messages") -> list[Recorded]:
        """Recorded requests to ``path`` (containing ``marker`` when given)."""
        with self._lock:
            found = [r for r in self.requests if r.path == path]
        if marker is not None:
            found = [r for r in found if marker in r.text]
        return found

    def answering(self, marker: str) -> bool:
        """True while an answer to a request containing ``marker`` is still going out.

        It asks about every such request, so that a request the CLI retried counts too.
        """
        return any(not r.ended for r in self.recorded(marker))

    def _choose(self, body: dict[str, Any]) -> Reply | None:
        haystack = json.dumps(body.get("messages", []), ensure_ascii=False) + json.dumps(
            body.get("system", ""), ensure_ascii=False
        )
        with self._lock:
            for rule in self._rules:
                if rule.marker in haystack:
                    return rule.next()
        return None

    # -- ASGI --------------------------------------------------------------------------

    async def _asgi(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = Recorded(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode(),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
            at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(record)
        path, method = scope["path"], scope["method"]
        if path == "/v1/messages/count_tokens" and method == "POST":
            count = max(1, len(json.dumps(body)) // 4)
            await _json(send, 200, {"input_tokens": count})
        elif path == "/v1/messages" and method == "POST" and isinstance(body, dict):
            await self._answer_until_disconnect(body, send, receive, record)
        elif path == "/v1/models" and method == "GET":
            await self._models(record, send)
        else:
            await _json(send, 404, _error_body("not_found_error", f"no route {path}"))

    async def _models(self, record: Recorded, send: Send) -> None:
        if self.models_status != 200:
            await _json(send, self.models_status, _error_body("api_error", "models unavailable"))
            return
        params = dict(p.split("=", 1) for p in record.query.split("&") if "=" in p)
        start = 0
        if "after_id" in params:
            ids = [m["id"] for m in self.models]
            start = ids.index(params["after_id"]) + 1 if params["after_id"] in ids else len(ids)
        page = self.models[start : start + self.models_page_size]
        await _json(
            send,
            200,
            {
                "data": page,
                "has_more": start + self.models_page_size < len(self.models),
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            },
        )

    async def _answer_until_disconnect(
        self, body: dict[str, Any], send: Send, receive: Any, record: Recorded
    ) -> None:
        with self._lock:
            self.active += 1
        completed = False

        async def respond() -> None:
            nonlocal completed
            await self._messages(body, send)
            completed = True

        answer = asyncio.ensure_future(respond())

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            answer.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await answer
        except asyncio.CancelledError:
            pass
        finally:
            watcher.cancel()
            # Whether the CLI left first (a send to it failed, or it disconnected):
            # decided by the answer's own outcome, so no race with hypercorn's events.
            record.hung_up = not completed
            record.ended = True
            with self._lock:
                self.active -= 1

    async def _messages(self, body: dict[str, Any], send: Send) -> None:
        reply = self._choose(body) or Reply.text(f"You said: {last_user_text(body)}")
        if reply.first_delay:
            await asyncio.sleep(reply.first_delay)
        extra = [(k.encode(), v.encode()) for k, v in {**self.headers, **reply.headers}.items()]
        if reply.status != 200:
            await _json(
                send,
                reply.status,
                _error_body(reply.error_type or "api_error", reply.error_message),
                extra=[(b"x-should-retry", b"false"), *extra],
            )
            return
        if not body.get("stream"):
            await _json(send, 200, _whole_message(body, reply), extra=extra)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"request-id", b"req_fake"),
                    *extra,
                ],
            }
        )
        await _stream(body, reply, send)


# --------------------------------------------------------------------------------------
# Wire helpers


def _error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


async def _json(
    send: Send, status: int, payload: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _usage(reply: Reply, output_tokens: int) -> dict[str, Any]:
    usage = {
        "input_tokens": 12,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    usage.update(reply.usage)
    return usage


def _stop_reason(reply: Reply) -> str:
    if reply.stop_reason:
        return reply.stop_reason
    return "tool_use" if any(isinstance(b, ToolUse) for b in reply.blocks) else "end_turn"


def _whole_message(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for block in reply.blocks:
        if isinstance(block, Text):
            content.append({"type": "text", "text": block.text})
        elif isinstance(block, Thinking):
            content.append(
                {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
            )
        else:
            content.append(
                {
                    "type": "tool_use",
                    "id": block.id or f"toolu_{uuid.uuid4().hex[:20]}",
                    "name": block.name,
                    "input": block.input,
                }
            )
    usage = _usage(reply, 5)
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": _stop_reason(reply),
        "stop_sequence": None,
        "usage": usage,
    }


async def _stream(body: dict[str, Any], reply: Reply, send: Send) -> None:
    sent = 0

    async def emit(event: str, data: dict[str, Any], count: bool = False) -> None:
        nonlocal sent
        await send({"type": "http.response.body", "body": _sse(event, data), "more_body": True})
        if count:
            sent += 1
            if reply.fail_after_chunks is not None and sent >= reply.fail_after_chunks:
                error = {
                    "type": "error",
                    "error": {"type": "overloaded_error", "message": "Overloaded"},
                }
                await send(
                    {"type": "http.response.body", "body": _sse("error", error), "more_body": False}
                )
                raise _Done
            if reply.hang_after_chunks is not None and sent >= reply.hang_after_chunks:
                await asyncio.sleep(3600)
            if reply.delay:
                await asyncio.sleep(reply.delay)

    usage = _usage(reply, 1)
    start: dict[str, object] = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": body.get("model"),
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    try:
        await emit("message_start", {"type": "message_start", "message": start})
        output_tokens = 0
        for index, block in enumerate(reply.blocks):
            if isinstance(block, Text):
                await emit(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
                for piece in block.pieces():
                    output_tokens += 1
                    delta = {"type": "text_delta", "text": piece}
                    await emit(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                        count=True,
                    )
            elif isinstance(block, Thinking):
                start_block = {"type": "thinking", "thinking": "", "signature": ""}
                await emit(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": start_block},
                )
                for piece in re.findall(r"\s*\S+\s*", block.thinking) or [block.thinking]:
                    output_tokens += 1
                    delta = {"type": "thinking_delta", "thinking": piece}
                    await emit(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                        count=True,
                    )
                delta = {"type": "signature_delta", "signature": block.signature}
                await emit(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            else:
                tool_block = {
                    "type": "tool_use",
                    "id": block.id or f"toolu_{uuid.uuid4().hex[:20]}",
                    "name": block.name,
                    "input": {},
                }
                await emit(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": tool_block},
                )
                for piece in block.pieces():
                    output_tokens += 1
                    delta = {"type": "input_json_delta", "partial_json": piece}
                    await emit(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                        count=True,
                    )
            await emit("content_block_stop", {"type": "content_block_stop", "index": index})
        final: dict[str, Any] = {
            "output_tokens": reply.usage.get("output_tokens", max(1, output_tokens))
        }
        if "output_tokens_details" in reply.usage:
            final["output_tokens_details"] = reply.usage["output_tokens_details"]
        await emit(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
                "usage": final,
            },
        )
        await send(
            {
                "type": "http.response.body",
                "body": _sse("message_stop", {"type": "message_stop"}),
                "more_body": False,
            }
        )
    except _Done:
        return


class _Done(Exception):
    pass
