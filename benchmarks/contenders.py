"""The contenders: the server pooled, the server with the pool off, and the bare floors.

Each answers one plain chat turn at a time through :meth:`chat` and reports how
long it took (and, streaming, when the first content arrived). The servers are
driven over HTTP with httpx (OpenAI chat completions); the floor is one
connected ``ClaudeSDKClient`` in this process, started with the options the
server builds for a plain chat (``wrapper.backend.options.build_options`` with
the default profile) and sent the same user message the server sends. The
reset floor is the same, but driven through the pool's own process class
(``wrapper.backend.cli_process.CliProcess``) and reset after every turn the way
the pool resets a process for a new conversation.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx
from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient, ResultMessage, StreamEvent

from benchmarks import proctree
from wrapper.backend.cli_process import CliProcess
from wrapper.backend.options import CliRuntime, build_options
from wrapper.backend.profile import Profile
from wrapper.backend.tool_gate import ToolGate
from wrapper.config import Settings
from wrapper.upstream.auth import detect_upstream_auth

MODEL = "claude-sonnet-5-5"
PROMPT = "Say hi"
SETTLE_TIMEOUT_S = 60.0


@dataclass
class Sample:
    """One answered turn (times in seconds from sending the request)."""

    total_s: float
    first_content_s: float | None = None
    ok: bool = True
    error: str = ""


class Contender(Protocol):
    name: str
    concurrent: bool  # can serve several turns at once
    cold: bool  # spawns a CLI per turn

    async def chat(self, marker: str, *, stream: bool) -> Sample: ...

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU seconds so far: (the Python side, the CLI side)."""
        ...

    def rss_roots(self) -> list[int]: ...

    def rss_solo(self) -> list[int]: ...

    async def prepare(self) -> None:
        """Made ready for a batch (before its CPU window opens)."""

    async def settle(self) -> None:
        """Wait until the work a batch caused is over (inside its CPU window)."""


def chat_body(marker: str, *, stream: bool) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"{PROMPT} {marker}"}],
        "stream": stream,
    }


# --------------------------------------------------------------------------- servers


class ServerContender:
    """The real server (a ``tests.e2e.harness.ServerProcess``) driven over HTTP/1.1."""

    concurrent = True

    def __init__(self, name: str, url: str, pid: int, *, pooled: bool) -> None:
        self.name = name
        self.url = url
        self.pid = pid
        self.pooled = pooled
        self.cold = not pooled
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.http = httpx.AsyncClient(base_url=url, timeout=180.0, limits=limits)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def chat(self, marker: str, *, stream: bool) -> Sample:
        body = chat_body(marker, stream=stream)
        started = time.perf_counter()
        try:
            if not stream:
                response = await self.http.post("/v1/chat/completions", json=body)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    return Sample(elapsed, ok=False, error=f"HTTP {response.status_code}")
                content = response.json()["choices"][0]["message"]["content"] or ""
                return Sample(elapsed, ok=bool(content), error="" if content else "empty reply")
            return await self._stream(body, started)
        except httpx.HTTPError as exc:
            return Sample(time.perf_counter() - started, ok=False, error=type(exc).__name__)

    async def _stream(self, body: dict[str, Any], started: float) -> Sample:
        first: float | None = None
        done = False
        async with self.http.stream("POST", "/v1/chat/completions", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                elapsed = time.perf_counter() - started
                return Sample(elapsed, ok=False, error=f"HTTP {response.status_code}")
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    continue
                if first is None:
                    choices = json.loads(data).get("choices") or [{}]
                    if (choices[0].get("delta") or {}).get("content"):
                        first = time.perf_counter() - started
        elapsed = time.perf_counter() - started
        ok = done and first is not None
        return Sample(elapsed, first, ok=ok, error="" if ok else "no content or no [DONE]")

    def cpu_seconds(self) -> tuple[float, float]:
        return proctree.cpu_split(self.pid)

    def rss_roots(self) -> list[int]:
        return [self.pid]

    def rss_solo(self) -> list[int]:
        return []

    async def status(self) -> dict[str, Any]:
        response = await self.http.get("/v1/pool/status")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def settle(self) -> None:
        """Wait until the server's background work is over (pool quiet, no CLI left over)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = await self.status()
            processes = status.get("processes") or {}
            busy = sum(processes.get(key, 0) for key in ("starting", "busy", "resetting"))
            quiet = status["turns_running"] == 0 and status["turns_waiting"] == 0 and busy == 0
            if quiet and not self.pooled:
                quiet = not proctree.cli_pids(self.pid)
            if quiet:
                return
            await anyio.sleep(0.02)
        print(f"warning: {self.name} did not settle in {SETTLE_TIMEOUT_S:.0f} s: {status}")

    async def prepare(self) -> None:
        await self.settle()


# --------------------------------------------------------------------------- floor


async def _once(message: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield message


def floor_options(root: Path) -> ClaudeAgentOptions:
    """The options the server builds for a plain chat (default profile), rooted at ``root``."""
    return build_options(
        floor_runtime(root), Profile(system_prompt=""), model=MODEL, gate=ToolGate()
    )


def _first_text(reply: object) -> bool:
    """Whether ``reply`` is a stream event carrying the first text of an answer."""
    if not isinstance(reply, StreamEvent):
        return False
    event = reply.event
    return event.get("type") == "content_block_delta" and bool(
        (event.get("delta") or {}).get("text")
    )


def floor_runtime(root: Path) -> CliRuntime:
    """The CliRuntime the server would build in a clean, loopback-only environment."""
    config_dir = root / "claude"
    config_dir.mkdir(parents=True, exist_ok=True)
    cwd = root / "cwd"
    cwd.mkdir(exist_ok=True)
    # As the server sets it (wrapper/wiring/root.py): the tool-park time plus a minute.
    wait_ms = str(int((Settings().pool.park_timeout_s + 60) * 1000))
    return CliRuntime(
        config_dir=str(config_dir),
        cwd=str(cwd.resolve()),
        auth_env=detect_upstream_auth(None, os.environ).cli_env,
        load_filesystem_settings=False,
        extra_env={"MCP_TOOL_TIMEOUT": wait_ms, "CLAUDE_CODE_SDK_MCP_TOOL_IDLE_TIMEOUT": wait_ms},
    )


class FloorContender:
    """One connected ``ClaudeSDKClient`` answering queries one after another."""

    name = "floor"
    concurrent = False
    cold = False

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-floor-")
        self._client: Any = None
        self._stderr: deque[str] = deque(maxlen=40)
        self.cli_pid: int | None = None
        self.connect_s = 0.0

    async def start(self) -> FloorContender:
        options = floor_options(Path(self._tmp.name))
        options.stderr = self._stderr.append
        self._client = ClaudeSDKClient(options)
        started = time.perf_counter()
        await self._client.connect()
        self.connect_s = time.perf_counter() - started
        process = getattr(getattr(self._client, "_transport", None), "_process", None)
        self.cli_pid = getattr(process, "pid", None)
        return self

    async def aclose(self) -> None:
        if self._client is not None:
            with anyio.move_on_after(20, shield=True):
                await self._client.disconnect()
        self._tmp.cleanup()

    async def chat(self, marker: str, *, stream: bool) -> Sample:
        """One query; streamed or not, the SDK delivers the same events (partial
        messages on, as the server sets them), so ``stream`` changes nothing here."""
        message = {
            "type": "user",
            "message": {
                "role": "user",
                "content": [{"type": "text", "text": f"{PROMPT} {marker}"}],
            },
            "parent_tool_use_id": None,
            "client_composed": True,
        }
        started = time.perf_counter()
        elapsed = 0.0
        first: float | None = None
        result: ResultMessage | None = None
        await self._client.query(_once(message))
        async for reply in self._client.receive_response():  # ends after the result
            if first is None and _first_text(reply):
                first = time.perf_counter() - started
            elif isinstance(reply, ResultMessage):
                result = reply
                elapsed = time.perf_counter() - started
        if result is None:
            return Sample(time.perf_counter() - started, first, ok=False, error="no result")
        ok = not result.is_error and first is not None
        return Sample(elapsed, first, ok=ok, error="" if ok else "error result")

    async def clear(self) -> None:
        """Start a new conversation (between rounds, off the clock)."""
        await self._client.query("/clear")
        async for reply in self._client.receive_response():
            if isinstance(reply, ResultMessage) and reply.is_error:
                raise RuntimeError("the floor's /clear failed")

    def cpu_seconds(self) -> tuple[float, float]:
        """The SDK's work in this process's main thread, and the CLI's (children included)."""
        cli = proctree.cpu_seconds([self.cli_pid]) if self.cli_pid else 0.0
        return time.thread_time(), cli

    def rss_roots(self) -> list[int]:
        return [self.cli_pid] if self.cli_pid else []

    def rss_solo(self) -> list[int]:
        """This process (the SDK's host; it also runs the load generator)."""
        return [os.getpid()]

    async def prepare(self) -> None:
        await self.clear()

    async def settle(self) -> None:
        """Nothing runs in the background of a bare client."""


class FloorResetContender:
    """The floor, reset after every turn as the pool resets a process.

    One ``CliProcess`` (the class the pool drives), started with the floor's
    options. After each answer, off the latency clock but inside the batch's CPU
    window, ``CliProcess.clear`` empties the conversation: a ``rewind_conversation``
    control request to its first user message (``/clear`` only if the CLI refuses).
    So every query starts a new conversation, like a pooled one-shot request,
    without the server around it.
    """

    name = "floor-reset"
    concurrent = False
    cold = False

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-floor-reset-")
        self._process: CliProcess | None = None
        self.connect_s = 0.0
        self.resets = 0
        self.failed_resets = 0

    @property
    def cli_pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> FloorResetContender:
        self._process = CliProcess(floor_options(Path(self._tmp.name)), label="floor-reset")
        started = time.perf_counter()
        await self._process.start()
        self.connect_s = time.perf_counter() - started
        return self

    async def aclose(self) -> None:
        if self._process is not None:
            await self._process.stop()
        self._tmp.cleanup()

    async def chat(self, marker: str, *, stream: bool) -> Sample:
        """One query in a new conversation (``stream`` changes nothing, as for the floor)."""
        process = self._process
        assert process is not None
        started = time.perf_counter()
        first: float | None = None
        await process.send_user_message([{"type": "text", "text": f"{PROMPT} {marker}"}])
        while True:
            reply = await process.next_message()
            if first is None and _first_text(reply):
                first = time.perf_counter() - started
            if isinstance(reply, ResultMessage):
                break
        elapsed = time.perf_counter() - started
        self.resets += 1
        if not await process.clear():
            self.failed_resets += 1
        ok = not reply.is_error and first is not None
        return Sample(elapsed, first, ok=ok, error="" if ok else "error result")

    def cpu_seconds(self) -> tuple[float, float]:
        """As for the floor: this process's main thread, and the CLI (children included)."""
        pid = self.cli_pid
        return time.thread_time(), proctree.cpu_seconds([pid]) if pid else 0.0

    def rss_roots(self) -> list[int]:
        pid = self.cli_pid
        return [pid] if pid else []

    def rss_solo(self) -> list[int]:
        return [os.getpid()]

    async def prepare(self) -> None:
        """Nothing: every turn already ends with the conversation emptied."""

    async def settle(self) -> None:
        """Nothing runs in the background: the reset is awaited after each turn."""
