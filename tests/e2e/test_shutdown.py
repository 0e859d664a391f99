"""Graceful shutdown, end to end: SIGTERM with streams in flight.

A stream that ends within ``SHUTDOWN_GRACE_SECONDS`` completes with ``[DONE]``; one
that would outlast it is cut; the server exits 0 soon after the grace period; no
``claude`` CLI process of that server survives it; and a new connection meanwhile is
refused at once (``claude-wrapper`` serves in one process, so its listening socket
closes when the shutdown begins).
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import ServerProcess, cli_processes, is_cli
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
GRACE_S = 4


def marker() -> str:
    return f"S{uuid.uuid4().hex[:10]}"


def alive_cli(pid: int) -> bool:
    """Whether ``pid`` is still a live (not zombie) ``claude`` process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat[stat.rfind(")") + 2 :].split()[0]
    return state != "Z" and is_cli(pid)


class StreamReader(threading.Thread):
    """Reads one streaming chat completion in the background, frame by frame."""

    def __init__(self, url: str, tag: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.tag = tag
        self.frames: list[str] = []
        self.first = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        body = {"stream": True, "messages": [{"role": "user", "content": self.tag}]}
        try:
            with httpx.stream("POST", self.url + CHAT, json=body, timeout=60) as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        self.frames.append(line[6:])
                        if '"content":"w' in line:
                            self.first.set()
        except httpx.HTTPError as exc:
            self.error = exc
        finally:
            self.first.set()

    @property
    def done(self) -> bool:
        return bool(self.frames) and self.frames[-1] == "[DONE]"


@pytest.fixture(params=["pooled", "cold", "pooled-trio", "claude-wrapper"])
def doomed(upstream: FakeUpstream, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """A server of its own: the test stops it."""
    env = {"SHUTDOWN_GRACE_SECONDS": str(GRACE_S)}
    if request.param == "cold":
        env["POOL_ENABLED"] = "false"
    worker = "trio" if request.param.endswith("trio") else "asyncio"
    console = request.param == "claude-wrapper"  # the console script, not hypercorn itself
    proc = ServerProcess(upstream.url, env=env, worker_class=worker, console_script=console)
    with proc:
        yield proc


def test_sigterm_lets_short_streams_finish_and_cuts_long_ones(
    doomed: ServerProcess, upstream: FakeUpstream
) -> None:
    assert doomed.process is not None
    server_pid = doomed.process.pid
    short, long = marker(), marker()
    # ~1.5 s of streaming: ends well within the grace period; ~60 s: cannot.
    upstream.script(short, Reply.text(" ".join(["word"] * 15), delay=0.1))
    upstream.script(long, Reply.text(" ".join(["word"] * 600), delay=0.1))
    readers = [StreamReader(doomed.url, short), StreamReader(doomed.url, long)]
    for reader in readers:
        reader.start()
    for reader in readers:
        assert reader.first.wait(30), reader.error
    cli_pids = set(cli_processes(server_pid))
    assert len(cli_pids) >= 2  # both turns are running in CLI processes

    doomed.process.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    # Pool spares started in the meantime belong to the server too.
    while doomed.process.poll() is None and time.monotonic() - stopped_at < 1.0:
        cli_pids.update(cli_processes(server_pid))
        time.sleep(0.05)
    code = doomed.process.wait(GRACE_S + 20)
    elapsed = time.monotonic() - stopped_at
    for reader in readers:
        reader.join(10)

    short_reader, long_reader = readers
    assert short_reader.done, short_reader.frames[-3:]  # (a) finished within the grace period
    assert not long_reader.done  # (b) cut when the grace period ended
    assert 300 > len(long_reader.frames) > 3
    assert code == 0, doomed.log()[-3000:]  # (c) a clean exit...
    assert GRACE_S - 0.5 < elapsed < GRACE_S + 8  # ...soon after the grace period
    # (d) no CLI process of that server survives it.
    assert not [pid for pid in cli_pids if alive_cli(pid)]
    assert '"app.stopped"' in doomed.log()


def test_a_new_connection_during_the_grace_period_is_refused_not_left_hanging(
    upstream: FakeUpstream,
) -> None:
    env = {"SHUTDOWN_GRACE_SECONDS": str(GRACE_S)}
    with ServerProcess(upstream.url, env=env, console_script=True) as proc:
        assert proc.process is not None
        tag = marker()
        upstream.script(tag, Reply.text(" ".join(["word"] * 600), delay=0.1))
        reader = StreamReader(proc.url, tag)
        reader.start()
        assert reader.first.wait(30), reader.error
        proc.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the signal is being handled; the stream is still in flight
        assert proc.process.poll() is None
        started = time.monotonic()
        with pytest.raises(httpx.ConnectError):
            httpx.get(proc.url + "/health", timeout=GRACE_S)
        assert time.monotonic() - started < 2
        reader.join(GRACE_S + 20)
