"""Under overload, a stream is refused before its 200, with its own status and Retry-After.

One turn slot and one queue place: a long stream holds the slot, a second stream
waits in the queue past ``QUEUE_TIMEOUT_SECONDS`` (longer than the first-byte
deadline, after which a stream that has a slot gets its headers) and gets a 503,
and a third, arriving while the queue is full, a 429: each as the HTTP status,
exactly as non-stream requests are refused. A client that stops reading loses its
slot after ``STREAM_WRITE_TIMEOUT_SECONDS``. The 64-stream test then checks
that every stream of a burst either completes or is refused that way, with
the server's memory bounded and the pool clean afterwards.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import ServerProcess, cli_processes, descendants, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"


def body(text: str, *, stream: bool = True) -> dict[str, object]:
    return {
        "model": "claude-sonnet-4-6",
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    }


@pytest.fixture(scope="module")
def tight_server(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    env = {
        "POOL_MAX_PROCESSES": "1",
        "MAX_CONCURRENT_TURNS": "1",
        "MAX_QUEUED_TURNS": "1",
        "QUEUE_TIMEOUT_SECONDS": "2.5",
        "FIRST_BYTE_DEADLINE_SECONDS": "0.5",
    }
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def test_a_queued_stream_that_gets_no_slot_is_a_503_and_a_full_queue_a_429(
    tight_server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = f"Q{uuid.uuid4().hex[:8]}"
    upstream.script(tag, Reply.text("held the slot", first_delay=6))
    holding = threading.Event()
    statuses: dict[str, int] = {}

    def hold() -> None:
        with httpx.stream("POST", tight_server.url + CHAT, json=body(tag), timeout=60) as r:
            holding.set()
            statuses["holder"] = r.status_code
            r.read()

    holder = threading.Thread(target=hold)
    holder.start()
    # The holder's turn is running once the fake upstream has its request.
    deadline = time.monotonic() + 30
    while not upstream.recorded(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.recorded(tag)

    queued: dict[str, httpx.Response] = {}

    def wait_in_queue() -> None:
        with httpx.stream(
            "POST", tight_server.url + CHAT, json=body(f"{tag} queued"), timeout=60
        ) as r:
            r.read()
            queued["response"] = r

    waiter = threading.Thread(target=wait_in_queue)
    waiter.start()
    time.sleep(0.8)  # past the first-byte deadline: the queued stream has no headers yet
    assert "response" not in queued
    full = httpx.post(tight_server.url + CHAT, json=body(f"{tag} full"), timeout=30)
    assert full.status_code == 429, full.text
    assert full.headers["retry-after"]
    waiter.join(30)
    refused = queued["response"]
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"]
    assert refused.json()["error"]["code"] == "queue_timeout"
    holder.join(60)
    assert statuses["holder"] == 200


def _rss_kib(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def server_rss_kib(pid: int) -> int:
    """The server's own processes (hypercorn and its worker), not its CLI children."""
    clis = set(cli_processes(pid))
    return sum(_rss_kib(p) for p in [pid, *descendants(pid)] if p not in clis)


def test_64_streams_each_complete_or_are_refused_with_retry_after(upstream: FakeUpstream) -> None:
    tag = f"C{uuid.uuid4().hex[:8]}"
    upstream.script(tag, *[Reply.text(f"burst answer {i}", delay=0.01) for i in range(64)])
    env = {"POOL_MAX_PROCESSES": "4", "QUEUE_TIMEOUT_SECONDS": "20"}
    with ServerProcess(upstream.url, env=env) as proc:
        assert proc.process is not None
        rss_before = server_rss_kib(proc.process.pid)
        peak = rss_before

        durations: list[float] = []

        def one(index: int) -> tuple[int, str, bool]:
            started = time.monotonic()
            with httpx.stream(
                "POST", proc.url + CHAT, json=body(f"{tag} {index}"), timeout=120
            ) as r:
                text = r.read().decode()
                durations.append(time.monotonic() - started)
                return r.status_code, r.headers.get("retry-after", ""), "[DONE]" in text

        with ThreadPoolExecutor(max_workers=64) as pool:
            futures = [pool.submit(one, i) for i in range(64)]
            while not all(f.done() for f in futures):
                peak = max(peak, server_rss_kib(proc.process.pid))
                time.sleep(0.2)
            results = [f.result() for f in futures]
        completed = [r for r in results if r[0] == 200]
        refused = [r for r in results if r[0] != 200]
        assert all(done for _, _, done in completed)
        assert all(status in (429, 503) and retry for status, retry, _ in refused), refused
        assert len(completed) + len(refused) == 64
        # The server's own memory stays bounded (the CLI processes are separate).
        assert peak - rss_before < 200 * 1024, (rss_before, peak)
        durations.sort()
        print(  # the figures docs/operations.md records (pytest -s shows them)
            f"64 streams: {len(completed)} completed, {len(refused)} refused; "
            f"p50 {durations[31]:.2f}s p95 {durations[60]:.2f}s; "
            f"server RSS {rss_before // 1024} -> {peak // 1024} MiB"
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            status = httpx.get(proc.url + "/v1/pool/status").json()
            if status["processes"]["busy"] == 0 and status["turns_running"] == 0:
                break
            time.sleep(0.1)
        assert status["processes"]["busy"] == 0 and status["turns_running"] == 0, status


def test_a_client_that_stops_reading_loses_its_slot_long_before_max_timeout(
    upstream: FakeUpstream,
) -> None:
    tag = f"W{uuid.uuid4().hex[:8]}"
    # ~9 MB of stream (800 KB of text, under the SDK's 1 MB line limit): far more than
    # the socket buffers between the server and a client that never reads.
    upstream.script(tag, Reply.text(" ".join(["x" * 19] * 40_000)))
    env = {
        "POOL_MAX_PROCESSES": "1",
        "MAX_CONCURRENT_TURNS": "1",
        "STREAM_WRITE_TIMEOUT_SECONDS": "2",
        "MAX_TIMEOUT": "300000",
    }
    with ServerProcess(upstream.url, env=env) as proc:
        request = json.dumps(body(tag)).encode()
        head = (
            f"POST {CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(request)}\r\n\r\n"
        ).encode()
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", proc.port))
            sock.sendall(head + request)  # and never read a byte of the answer

            def freed() -> bool:
                status = httpx.get(proc.url + "/v1/pool/status", timeout=10).json()
                return bool(status["turns_running"] == 0 and upstream.recorded(tag))

            started = time.monotonic()
            assert wait_until(freed, timeout=60)
            assert time.monotonic() - started < 60  # MAX_TIMEOUT is 300 s
            assert '"stream.client_stopped_reading"' in proc.log()
        follow = httpx.post(proc.url + CHAT, json=body(f"{tag} next", stream=False), timeout=60)
        assert follow.status_code == 200, proc.log()[-6000:]
