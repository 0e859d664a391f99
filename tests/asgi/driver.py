"""Driving ``wrapper.app.App`` in-process: an ASGI exchange the test controls, and app wiring.

:class:`Exchange` plays the server's side of one HTTP request: it hands the app
the request body (in chunks, like a chunked upload), records every message the
app sends, lets a test wait until the sent messages satisfy a condition, and
reports ``http.disconnect`` once the test calls :meth:`Exchange.disconnect`
(as hypercorn does, ``send`` never raises after that).

:func:`make_app` builds an App with explicit Settings whose context factory is
the real composition root with a scripted backend (say a
:class:`~tests.fakes.backend.FakeBackend`) in place of the CLI's.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import msgspec

from wrapper.api.context import AppContext
from wrapper.app import App
from wrapper.backend.pool_view import NoPool, PoolView
from wrapper.config import (
    BreakerSettings,
    ModelSettings,
    RateLimitSettings,
    RetrySettings,
    SessionSettings,
    Settings,
    UpstreamSettings,
)
from wrapper.events import Backend
from wrapper.wiring.backend import CoreBackend, CoreRequest, admission_for
from wrapper.wiring.lifespan import LifespanStack
from wrapper.wiring.root import build_context

DEFAULT_MODEL = "claude-test"
WAIT_DEADLINE_S = 5.0


def quiet_settings(**overrides: Any) -> Settings:
    """Settings for in-process tests: quiet logs, an empty environment, sessions in
    memory, no retries, rate limits or breaker (tests of those turn them on), the
    default model pinned; everything else as given."""
    values: dict[str, Any] = {
        "log_format": "json",
        "log_level": "error",
        "models": ModelSettings(default_model=DEFAULT_MODEL),
        "sessions": SessionSettings(store_url="memory://"),
        "rate_limits": RateLimitSettings(enabled=False),
        "retry": RetrySettings(retries=0),
        "breaker": BreakerSettings(enabled=False),
        "upstream": UpstreamSettings(auth_method="api_key", probe_interval_s=0),
        "max_turn_cpu_s": 0,
    }
    values.update(overrides)
    return Settings(**values)


class Wiring:
    """What the context factory built, for assertions."""

    def __init__(self) -> None:
        self.built = 0
        self.released = 0


def make_app(
    backend: Backend, settings: Settings | None = None, pool: PoolView | None = None
) -> tuple[App, Wiring]:
    """An App whose lifespan wires ``backend`` as its core backend (and ``pool`` as its
    pool, else none), under the real composition root (layers, hooks, stores); returns
    the app and its wiring record."""
    wiring = Wiring()

    async def open_core(request: CoreRequest, stack: LifespanStack) -> CoreBackend:
        return CoreBackend(
            backend=backend,
            pool=pool or NoPool(),
            admission=admission_for(request.settings),
        )

    async def factory(settings: Settings, stack: LifespanStack) -> AppContext:
        wiring.built += 1

        def release() -> None:
            wiring.released += 1

        stack.callback(release)
        if settings.data_dir == Settings().data_dir:
            data_dir = tempfile.mkdtemp(prefix="wrapper-asgi-")
            stack.callback(shutil.rmtree, data_dir, True)
            settings = msgspec.structs.replace(settings, data_dir=data_dir)
        return await build_context(settings, stack, open_core=open_core)

    return App(settings or quiet_settings(), context_factory=factory), wiring


@asynccontextmanager
async def started(app: App) -> AsyncIterator[App]:
    """``app`` between its startup and shutdown (no lifespan messages), with a
    background task group for its housekeeping, as the lifespan gives it."""
    async with anyio.create_task_group() as background:
        await app.startup(background)
        try:
            yield app
        finally:
            await app.shutdown()
            background.cancel_scope.cancel()


class Exchange:
    """One request/response between a test and the app."""

    def __init__(
        self,
        method: str,
        path: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | Sequence[bytes] = b"",
        query: str = "",
    ) -> None:
        chunks = [body] if isinstance(body, bytes) else list(body)
        if method == "POST" and not any(k.lower() == "content-type" for k, _ in headers):
            # As every real client sends with a JSON body (a keyless server requires it).
            headers = [*headers, ("content-type", "application/json")]
        self._incoming: list[dict[str, Any]] = [
            {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
            for index, chunk in enumerate(chunks or [b""])
        ]
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.1"},
            "http_version": "1.1",
            "method": method,
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "scheme": "http",
        }
        self.sent: list[dict[str, Any]] = []
        self._disconnected: anyio.Event | None = None
        self._changed: anyio.Event | None = None

    # -- the server side -------------------------------------------------------------

    def _events(self) -> tuple[anyio.Event, anyio.Event]:
        if self._disconnected is None or self._changed is None:
            self._disconnected = anyio.Event()
            self._changed = anyio.Event()
        return self._disconnected, self._changed

    async def receive(self) -> dict[str, Any]:
        disconnected, _ = self._events()
        if self._incoming:
            return self._incoming.pop(0)
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        _, changed = self._events()
        self.sent.append(message)
        self._changed = anyio.Event()
        changed.set()

    def disconnect(self) -> None:
        """The client goes away."""
        disconnected, _ = self._events()
        disconnected.set()

    async def run(self, app: App) -> Exchange:
        """Serve the whole exchange."""
        self._events()
        await app(self.scope, self.receive, self.send)
        return self

    async def wait_for(self, condition: Callable[[Exchange], bool]) -> None:
        """Wait until ``condition(self)`` holds (re-checked after every sent message)."""
        with anyio.fail_after(WAIT_DEADLINE_S):
            while not condition(self):
                _, changed = self._events()
                await changed.wait()

    # -- what the app sent ----------------------------------------------------------

    @property
    def start(self) -> dict[str, Any] | None:
        for message in self.sent:
            if message["type"] == "http.response.start":
                return message
        return None

    @property
    def status(self) -> int:
        assert self.start is not None, "no response started"
        return int(self.start["status"])

    @property
    def header_list(self) -> list[tuple[str, str]]:
        assert self.start is not None, "no response started"
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.start["headers"]]

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.header_list)

    @property
    def body_parts(self) -> list[bytes]:
        return [m.get("body", b"") for m in self.sent if m["type"] == "http.response.body"]

    @property
    def body(self) -> bytes:
        return b"".join(self.body_parts)

    @property
    def complete(self) -> bool:
        return any(
            m["type"] == "http.response.body" and not m.get("more_body", False) for m in self.sent
        )

    def json(self) -> Any:
        return json.loads(self.body)

    def data_frames(self) -> list[str]:
        """The ``data:`` payloads of an SSE body, in order."""
        frames: list[str] = []
        for block in self.body.decode().split("\n\n"):
            lines = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
            if lines:
                frames.append("\n".join(lines))
        return frames

    def pings(self) -> int:
        return self.body.count(b": ping\n\n")


def json_body(payload: Any) -> bytes:
    return json.dumps(payload).encode()
