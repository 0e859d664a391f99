"""Idle pooled CLIs are frozen, serve their next turn as before, and never outlive the server.

An awake idle CLI keeps collecting garbage and running timers; the pool stops
(SIGSTOP) a process idle for ``POOL_FREEZE_IDLE_SECONDS`` and continues it before it
is next told anything. A frozen process holding a conversation answers its
follow-up, the model seeing the whole conversation. The launcher arms SIGCONT as
the CLI's parent-death signal, so a server killed with SIGKILL while CLIs are
frozen leaves none behind, stopped or running.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.e2e.harness import ServerProcess, cli_processes, descendants, pool_counts, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream, Reply

pytestmark = pytest.mark.e2e

ENV = {"POOL_MAX_PROCESSES": "3", "POOL_MIN_WARM": "1", "POOL_FREEZE_IDLE_SECONDS": "0.2"}


def marker() -> str:
    return f"F{uuid.uuid4().hex[:10]}"


def state(pid: int) -> str:
    """The process's state letter from /proc (``T``: stopped), ``gone`` once reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat[stat.rfind(")") + 2 :].split()[0]


def stopped(proc: ServerProcess) -> list[int]:
    assert proc.process is not None
    return [pid for pid in cli_processes(proc.process.pid) if state(pid) == "T"]


@pytest.fixture
def server(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    with ServerProcess(upstream.url, env=ENV) as proc:
        assert wait_until(lambda: pool_counts(proc)["clean"] >= 1, timeout=30)
        yield proc


def test_a_frozen_process_answers_its_conversations_follow_up(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=60)
    first, second = marker(), marker()
    upstream.script(first, Reply.text(f"noted {first}"))
    upstream.script(second, Reply.text(f"still here {second}"))
    history: list[dict[str, str]] = [{"role": "user", "content": f"remember {first}"}]
    reply = client.chat.completions.create(model="m", messages=history)  # type: ignore[arg-type]
    history.append({"role": "assistant", "content": reply.choices[0].message.content or ""})

    # The process holding the conversation is frozen once idle.
    assert wait_until(lambda: pool_counts(server)["frozen"] >= 1 and stopped(server), timeout=30)
    hits = pool_counts(server)["affinity_hits"]

    history.append({"role": "user", "content": f"and now {second}"})
    follow_up = client.chat.completions.create(model="m", messages=history)  # type: ignore[arg-type]
    assert follow_up.choices[0].message.content == f"still here {second}"
    assert pool_counts(server)["affinity_hits"] == hits + 1  # served by the frozen process
    sent = upstream.recorded(second)[-1].body["messages"]
    texts = [str(m["content"]) for m in sent if m["role"] in ("user", "assistant")]
    assert first in texts[0] and f"noted {first}" in texts[1] and second in texts[2]


def test_a_server_killed_outright_leaves_no_frozen_cli_behind(
    server: ServerProcess, upstream: FakeUpstream
) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=60)
    tag = marker()
    upstream.script(tag, Reply.text(f"ok {tag}"))
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": tag}])
    assert wait_until(lambda: stopped(server), timeout=30)
    assert server.process is not None
    clis = cli_processes(server.process.pid)
    frozen = stopped(server)
    assert frozen and set(frozen) <= set(clis)

    # SIGKILL the worker the CLIs are children of (no cleanup of ours runs), then its
    # supervisor.
    for child in descendants(server.process.pid):
        if child not in clis and b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
            os.kill(child, signal.SIGKILL)
    server.stop(signal.SIGKILL)
    assert wait_until(lambda: all(state(pid) in ("gone", "Z") for pid in clis), timeout=30), {
        pid: state(pid) for pid in clis
    }
