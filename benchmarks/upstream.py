"""The fake Anthropic upstream for the timed benchmarks, in a process of its own.

The fake (tests/fakes/anthropic_upstream.py) is a Python server; run inside the
benchmark process it would share one GIL with the load generator and with the
in-process SDK floor and distort both. So the timed runs use it as a child
process: ``python -m benchmarks.upstream`` prints ``PORT <n>`` and serves until
its stdin closes. Only 127.0.0.1 is bound.

Two scripted replies, chosen by a marker in the prompt:

* ``INSTANT_MARKER``: 50 words (50 text deltas) sent as fast as possible;
* ``PACED_MARKER``: the same 50 words at 50 tokens/s (20 ms after each delta).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fakes.anthropic_upstream import FakeUpstream, Reply

INSTANT_MARKER = "BENCH-INSTANT"
PACED_MARKER = "BENCH-PACED"
REPLY_TOKENS = 50
TOKENS_PER_SECOND = 50.0
ROOT = Path(__file__).resolve().parents[1]


def reply_text() -> str:
    """A 50-word answer (the fake streams one word per delta)."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    return " ".join(words[i % len(words)] for i in range(REPLY_TOKENS))


def serve() -> None:
    upstream = FakeUpstream().start()
    upstream.script(INSTANT_MARKER, Reply.text(reply_text()))
    upstream.script(PACED_MARKER, Reply.text(reply_text(), delay=1 / TOKENS_PER_SECOND))
    print(f"PORT {upstream.port}", flush=True)
    # Recorded requests would grow without bound over a run: keep none.
    try:
        for _ in sys.stdin:
            upstream.requests.clear()
    finally:
        upstream.stop()


class UpstreamProcess:
    """The benchmark upstream as a child process (``with UpstreamProcess(env) as up``)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> UpstreamProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.upstream"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"benchmark upstream did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def forget_requests(self) -> None:
        """Drop what the fake recorded so far (it keeps every request otherwise)."""
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.write("\n")
            self.process.stdin.flush()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def __enter__(self) -> UpstreamProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    serve()
