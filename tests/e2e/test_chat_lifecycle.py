"""Process lifetime and transport: timeouts, disconnects, concurrency, HTTP/2, curl, trio."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import openai
import pytest

from tests.e2e.harness import ServerProcess, cli_processes, stream_chat, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"


def marker() -> str:
    return f"L{uuid.uuid4().hex[:10]}"


def pooled(proc: ServerProcess) -> bool:
    return proc.env.get("POOL_ENABLED") != "false"


def no_orphans(proc: ServerProcess) -> bool:
    """Every live CLI child is accounted for: none at all without the pool, and only
    the pool's own (idle, reset) processes with it."""
    assert proc.process is not None
    children = set(cli_processes(proc.process.pid))
    if not pooled(proc):
        return not children
    status = httpx.get(f"{proc.url}/v1/pool/status", timeout=10).json()
    return children <= set(status["pids"]) and status["processes"]["busy"] == 0


def generation_stopped(upstream: FakeUpstream) -> bool:
    """No upstream request is still being answered: the CLI hung up."""
    return upstream.active == 0


@pytest.fixture(scope="module", params=["pooled", "cold"])
def short_timeout(
    upstream: FakeUpstream, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    env = {"MAX_TIMEOUT": "2500"}
    if request.param == "cold":
        env["POOL_ENABLED"] = "false"
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def test_timeout_before_output_is_504_and_the_cli_is_gone(
    short_timeout: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("never", first_delay=30))
    started = time.monotonic()
    response = httpx.post(
        short_timeout.url + CHAT, json={"messages": [{"role": "user", "content": tag}]}, timeout=60
    )
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert time.monotonic() - started < 20
    assert wait_until(lambda: generation_stopped(upstream), timeout=10)
    assert wait_until(lambda: no_orphans(short_timeout), timeout=15)


def test_timeout_after_output_is_an_in_stream_error(
    short_timeout: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("a b c d e f", hang_after_chunks=2))
    with stream_chat(short_timeout.url, tag) as response:
        assert response.status_code == 200
        frames = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    payloads = [json.loads(f) for f in frames if f != "[DONE]"]
    assert payloads[-1]["error"]["code"] == "timeout"
    assert wait_until(lambda: generation_stopped(upstream), timeout=10)
    assert wait_until(lambda: no_orphans(short_timeout), timeout=15)


def test_client_disconnect_mid_stream_stops_the_cli(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    for _ in range(3):
        _disconnect_mid_stream(server, upstream)


def _disconnect_mid_stream(server: ServerProcess, upstream: FakeUpstream) -> None:
    assert server.process is not None
    tag = marker()
    upstream.script(tag, Reply.text(" ".join(["word"] * 200), delay=0.1))
    with stream_chat(server.url, tag) as response:
        # Held, not left to the loop: a line iterator dropped at ``break`` is closed at
        # once, and closing it closes the connection before the checks below.
        lines = response.iter_lines()
        for line in lines:
            if '"content":"word' in line:
                break
        assert cli_processes(server.process.pid)
        # An answer to the request is still going out while the client is connected.
        assert wait_until(lambda: upstream.answering(tag), timeout=15)
    # Leaving the block closed the connection mid-stream: the CLI stops generating
    # within a few seconds, starts no retry, and leaves no process behind.
    assert wait_until(lambda: not upstream.answering(tag) and no_orphans(server), timeout=15)
    assert upstream.recorded(tag)[-1].hung_up


def test_health_answers_while_a_stream_is_in_flight(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text(" ".join(["slow"] * 12), delay=0.2))
    finished = threading.Event()
    health_during: list[int] = []

    def stream() -> None:
        with stream_chat(server.url, tag) as response:
            for _ in response.iter_lines():
                pass
        finished.set()

    worker = threading.Thread(target=stream)
    worker.start()
    assert wait_until(lambda: bool(upstream.recorded(tag)), timeout=20)
    while not finished.is_set() and len(health_during) < 5:
        health_during.append(httpx.get(server.url + "/health", timeout=5).status_code)
    in_flight = not finished.is_set()
    worker.join(60)
    assert in_flight
    assert health_during and all(code == 200 for code in health_during)


def test_sixteen_concurrent_requests_each_get_their_own_answer(server: ServerProcess) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=120)
    tags = [marker() for _ in range(16)]

    def ask(tag: str) -> str:
        completion = client.chat.completions.create(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": f"echo {tag}"}]
        )
        return completion.choices[0].message.content or ""

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, tags))
    assert answers == [f"You said: echo {tag}" for tag in tags]


def test_http2_prior_knowledge(server: ServerProcess, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("over h2"))

    async def main() -> tuple[str, str, list[str]]:
        async with httpx.AsyncClient(http1=False, http2=True, timeout=60) as client:
            plain = await client.post(
                server.url + CHAT, json={"messages": [{"role": "user", "content": tag}]}
            )
            frames: list[str] = []
            async with client.stream(
                "POST",
                server.url + CHAT,
                json={"stream": True, "messages": [{"role": "user", "content": tag}]},
            ) as streamed:
                async for line in streamed.aiter_lines():
                    if line.startswith("data: "):
                        frames.append(line[6:])
                version = streamed.http_version
            return plain.http_version, version, frames

    plain_version, stream_version, frames = anyio.run(main)
    assert plain_version == "HTTP/2"
    assert stream_version == "HTTP/2"
    assert frames[-1] == "[DONE]"


def test_curl_n_prints_frames_as_they_come(server: ServerProcess, upstream: FakeUpstream) -> None:
    if shutil.which("curl") is None:
        if os.environ.get("CI"):
            pytest.fail("curl is required on CI (.ci/run installs it)")
        pytest.skip("curl is not installed")
    tag = marker()
    upstream.script(tag, Reply.text("c1 c2 c3 c4 c5", delay=0.3))
    body = json.dumps({"stream": True, "messages": [{"role": "user", "content": tag}]})
    arrivals: list[float] = []
    with subprocess.Popen(
        ["curl", "-sN", "-H", "content-type: application/json", "-d", body, server.url + CHAT],
        stdout=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            if b'"content":"c' in raw:
                arrivals.append(time.monotonic())
        process.wait(30)
    assert len(arrivals) == 5
    assert arrivals[-1] - arrivals[0] >= 0.9


def test_the_server_runs_on_the_trio_worker(upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("trio works"))
    with ServerProcess(upstream.url, worker_class="trio") as proc:
        client = openai.OpenAI(base_url=proc.url + "/v1", api_key="x", max_retries=0)
        reply = client.chat.completions.create(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": tag}]
        )
        assert reply.choices[0].message.content == "trio works"
        chunks = list(
            client.chat.completions.create(
                model="claude-sonnet-4-6", messages=[{"role": "user", "content": tag}], stream=True
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "trio works"
        assert wait_until(lambda: no_orphans(proc), timeout=10)
