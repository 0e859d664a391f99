"""A throwaway ``redis-server`` on a free loopback port, for tests that need Redis.

Nothing is persisted (no RDB, no AOF) and only 127.0.0.1 is bound. When the
binary is missing, tests skip locally but fail on CI (``CI=true``), where
``.ci/run`` installs it: a Redis test must never be skipped silently there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis_server() -> str:
    """The ``redis-server`` binary; skips the test (fails it on CI) when missing."""
    binary = shutil.which("redis-server")
    if binary is not None:
        return binary
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail("redis-server is not installed; on CI .ci/run must install it")
    pytest.skip("redis-server is not installed (apt-get install redis-server)")


class RedisServer:
    """``with RedisServer(binary) as server: server.url ...``."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = _free_port()
        self._tmp = tempfile.TemporaryDirectory(prefix="wrapper-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> RedisServer:
        log = Path(self._tmp.name) / "redis.log"
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._tmp.name,
            "--logfile", str(log),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited early:\n{log.read_text()}")
            if _pong(self.port):
                return self
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer PING")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._tmp.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
