"""Starting the real server under hypercorn as a subprocess, wired to the fake upstream.

The child environment is built from scratch for safety: every inherited
``ANTHROPIC_*`` / ``CLAUDE_*`` variable and every variable this server reads is
dropped, then the fake upstream's loopback URL, a throwaway API key and a temp
``HOME`` are set. No test ever talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import math
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessage,
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCallUnionParam,
)

from wrapper.config import documented_variables

ROOT = Path(__file__).resolve().parents[2]
FAKE_KEY = "sk-ant-fake-test-key"
# One client function tool, for the tests of tool calls that park and resume.
LOOKUP_TOOLS: list[ChatCompletionFunctionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look something up",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
]


def tool_round_trip(
    reply: ChatCompletionMessage, call_id: str, result: str
) -> list[ChatCompletionMessageParam]:
    """The assistant's tool-call turn as a client sends it back (its calls dumped as
    valid tool-call params on the wire), then the result of call ``call_id``."""
    calls = cast(
        "list[ChatCompletionMessageToolCallUnionParam]",
        [call.model_dump() for call in reply.tool_calls or []],
    )
    return [
        {"role": "assistant", "content": reply.content, "tool_calls": calls},
        {"role": "tool", "tool_call_id": call_id, "content": result},
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(
    upstream_url: str, home: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """An environment for the server (and its CLI children) that only reaches loopback."""
    ours = set(documented_variables())
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANTHROPIC_", "CLAUDE_", "AWS_", "GOOGLE_", "CLOUD_ML"))
        and key not in ours
        and key not in {"HOME", "XDG_CONFIG_HOME", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}
    }
    env.update(
        {
            "ANTHROPIC_BASE_URL": upstream_url,
            "ANTHROPIC_API_KEY": FAKE_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "HOME": home,
            "NO_PROXY": "127.0.0.1,localhost",
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            # Every test client is 127.0.0.1: the per-address limits (10 chats a minute)
            # would throttle the suite. Tests of the limits pass RATE_LIMIT_ENABLED=true.
            "RATE_LIMIT_ENABLED": "false",
            # Scripted upstream failures would be retried (with backoff, and a CLI spawn each);
            # tests of the retries pass UPSTREAM_RETRIES themselves.
            "UPSTREAM_RETRIES": "0",
        }
    )
    env.update(extra or {})
    return env


class ServerProcess:
    """The real server (``hypercorn wrapper.asgi:app``) in a child process."""

    def __init__(
        self,
        upstream_url: str,
        *,
        env: Mapping[str, str] | None = None,
        worker_class: str = "asyncio",
        http2: bool = True,
        console_script: bool = False,
    ) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="wrapper-e2e-")
        home = Path(self.tmp.name) / "home"
        home.mkdir()
        data = Path(self.tmp.name) / "data"
        base = {"DATA_DIR": str(data)}
        base.update(env or {})
        self.env = clean_env(upstream_url, str(home), base)
        self.port = free_port()
        self.worker_class = worker_class
        # ``claude-wrapper`` (the console script) rather than ``hypercorn wrapper.asgi:app``.
        self.console_script = console_script
        self.log_path = Path(self.tmp.name) / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        if self.console_script:
            self.env.update({"PORT": str(self.port), "CLAUDE_WRAPPER_HOST": "127.0.0.1"})
            command = [sys.executable, "-m", "wrapper.cli", "--worker-class", self.worker_class]
        else:
            command = self._hypercorn_command()
        return self._start_process(command, timeout)

    def _hypercorn_command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "hypercorn",
            "wrapper.asgi:app",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            self.worker_class,
            "--graceful-timeout",  # as claude-wrapper does: SHUTDOWN_GRACE_SECONDS
            str(math.ceil(float(self.env.get("SHUTDOWN_GRACE_SECONDS", "10")))),
            "--keep-alive",  # and KEEP_ALIVE_SECONDS
            self.env.get("KEEP_ALIVE_SECONDS", "75"),
        ]

    def _start_process(self, command: list[str], timeout: float) -> ServerProcess:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def close(self) -> None:
        self.stop()
        self.tmp.cleanup()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def descendants(pid: int) -> list[int]:
    """Live descendant pids of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def is_cli(pid: int) -> bool:
    """Whether ``pid`` is a ``claude`` CLI process.

    By its name, not its command line: reading a busy process's cmdline can come back
    empty (it needs the process's memory), its name never does.
    """
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "claude"
    except OSError:
        return False


def cli_processes(pid: int) -> list[int]:
    """Descendants of ``pid`` that are the ``claude`` CLI."""
    return [child for child in descendants(pid) if is_cli(child)]


def stream_chat(url: str, text: str) -> AbstractContextManager[httpx.Response]:
    """A streamed chat completion of the one user message ``text`` at the server ``url``."""
    return httpx.stream(
        "POST",
        url + "/v1/chat/completions",
        json={"stream": True, "messages": [{"role": "user", "content": text}]},
        timeout=60,
    )


def pool_counts(server: ServerProcess) -> dict[str, Any]:
    """The ``processes`` figures of the server's ``GET /v1/pool/status``."""
    result: dict[str, Any] = httpx.get(f"{server.url}/v1/pool/status", timeout=10).json()
    return dict(result["processes"])


def wait_until(
    predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05
) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def pool_settled(server: ServerProcess) -> dict[str, Any]:
    """The pool's counts once no process is busy or being reset."""
    assert wait_until(
        lambda: pool_counts(server)["busy"] == 0 and pool_counts(server)["resetting"] == 0
    )
    return pool_counts(server)


@contextmanager
def one_process_server(upstream_url: str) -> Iterator[ServerProcess]:
    """A server whose pool holds one process only, once it is clean: every request is
    served by that process (held, rewound, appended to or reset), and a spawn would
    have to replace it, which the pool's counters show."""
    env = {"POOL_MAX_PROCESSES": "1", "POOL_MIN_WARM": "1"}
    with ServerProcess(upstream_url, env=env) as proc:
        assert wait_until(lambda: pool_counts(proc)["clean"] >= 1, timeout=30)
        yield proc


def upstream_turns(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The (role, text) of each conversation turn an upstream request carried."""
    found = []
    for message in body["messages"]:
        if message["role"] not in ("user", "assistant"):
            continue
        content = message["content"]
        if isinstance(content, str):
            found.append((message["role"], content))
            continue
        text = "".join(block.get("text", "") for block in content if block["type"] == "text")
        found.append((message["role"], text))
    return found


def read_until(fd: int, pattern: str, timeout: float = 60.0, seen: str = "") -> str:
    """Read a terminal (the controller side of a pty) until ``pattern`` appears in it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, seen):
            return seen
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk.decode(errors="replace")
    if re.search(pattern, seen):
        return seen
    raise AssertionError(f"did not see {pattern!r} in:\n{seen}")
