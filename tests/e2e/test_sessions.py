"""Client sessions through the real CLI: the conversation lives in the Claude session itself.

Turn 1 and turn 2 of a session reach the model as real turns; the session survives
a restart (SQLite under DATA_DIR) and moves between replicas (Redis); sessions are
isolated, expire, and a concurrent turn on a busy session gets 409.
"""

from __future__ import annotations

import json
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.harness import ServerProcess, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream, Reply
from tests.redis_server import RedisServer

pytestmark = pytest.mark.e2e


def marker() -> str:
    return f"S{uuid.uuid4().hex[:10]}"


def turns(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) of each conversation turn of an upstream request, CLI notes left out."""
    result = []
    for message in messages:
        if message["role"] not in ("user", "assistant"):
            continue
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        text = " ".join(
            b.get("text", "")
            for b in blocks
            if b.get("type") == "text" and not b.get("text", "").startswith("<system-reminder>")
        )
        result.append((message["role"], text.strip()))
    return result


def chat(url: str, session: str, text: str, **extra: Any) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        json={
            "model": "claude-sonnet-4-6",
            "messages": [{"role": "user", "content": text}],
            **extra,
        },
        headers={"x-session-id": session},
        timeout=60,
    )


@pytest.fixture(scope="module", params=["pooled", "cold"])
def sessions_server(
    upstream: FakeUpstream, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    env = {"POOL_ENABLED": "false"} if request.param == "cold" else {}
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def test_turn_two_sees_turn_one_as_real_turns(
    sessions_server: ServerProcess, upstream: FakeUpstream
) -> None:
    session, first, second = f"s-{marker()}", marker(), marker()
    client = openai.OpenAI(base_url=sessions_server.url + "/v1", api_key="x", max_retries=0)
    one = client.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"My name is Ada {first}"}],
        extra_body={"session_id": session},
    )
    assert one.choices[0].message.content == f"You said: My name is Ada {first}"
    two = client.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"What is my name? {second}"}],
        extra_body={"session_id": session},
    )
    assert two.choices[0].message.content == f"You said: What is my name? {second}"
    seen = turns(upstream.recorded(second)[-1].body["messages"])
    assert seen == [
        ("user", f"My name is Ada {first}"),
        ("assistant", f"You said: My name is Ada {first}"),
        ("user", f"What is my name? {second}"),
    ]
    record = httpx.get(f"{sessions_server.url}/v1/sessions/{session}").json()
    assert record["turn_count"] == 2
    assert record["model"] == "claude-sonnet-4-6"


def test_sessions_are_isolated(sessions_server: ServerProcess, upstream: FakeUpstream) -> None:
    a, b = f"a-{marker()}", f"b-{marker()}"
    secret_a, secret_b, ask = marker(), marker(), marker()
    assert chat(sessions_server.url, a, f"secret {secret_a}").status_code == 200
    assert chat(sessions_server.url, b, f"secret {secret_b}").status_code == 200
    assert chat(sessions_server.url, b, f"recall {ask}").status_code == 200
    seen = upstream.recorded(ask)[-1].text
    assert secret_b in seen
    assert secret_a not in seen


def test_a_concurrent_turn_on_a_busy_session_gets_409(
    sessions_server: ServerProcess, upstream: FakeUpstream
) -> None:
    session, slow = f"busy-{marker()}", marker()
    upstream.script(slow, Reply.text("slow answer", first_delay=3))
    results: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: results.append(chat(sessions_server.url, session, slow))
    )
    first.start()
    assert wait_until(lambda: bool(upstream.recorded(slow)), timeout=30)
    clash = chat(sessions_server.url, session, "meanwhile")
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "session_busy"
    first.join(60)
    assert results[0].status_code == 200


def test_streamed_session_turns_are_kept_too(
    sessions_server: ServerProcess, upstream: FakeUpstream
) -> None:
    session, first, second = f"st-{marker()}", marker(), marker()
    client = openai.OpenAI(base_url=sessions_server.url + "/v1", api_key="x", max_retries=0)
    for text in (f"hello {first}", f"again {second}"):
        chunks = list(
            client.chat.completions.create(
                model="claude-sonnet-4-6",
                messages=[{"role": "user", "content": text}],
                stream=True,
                extra_body={"session_id": session},
            )
        )
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    seen = turns(upstream.recorded(second)[-1].body["messages"])
    assert [role for role, _ in seen] == ["user", "assistant", "user"]


def pool(proc: ServerProcess) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{proc.url}/v1/pool/status", timeout=10).json()
    return dict(result["processes"])


def test_a_session_is_kept_on_warm_processes_with_no_spawn_and_survives_a_restart(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    first, second, third, fourth = marker(), marker(), marker(), marker()
    # One process: the other conversations must take the session's process over.
    env = {"DATA_DIR": str(tmp_path / "data"), "POOL_MAX_PROCESSES": "1"}
    session = f"k-{first}"
    with ServerProcess(upstream.url, env=env) as proc:
        assert wait_until(lambda: pool(proc)["clean"] >= 1, timeout=30)
        before = pool(proc)
        one = chat(proc.url, session, f"My name is Ada {first}")
        assert one.json()["choices"][0]["message"]["content"] == f"You said: My name is Ada {first}"
        assert chat(proc.url, session, f"And mine? {second}").status_code == 200
        assert turns(upstream.recorded(second)[-1].body["messages"]) == [
            ("user", f"My name is Ada {first}"),
            ("assistant", f"You said: My name is Ada {first}"),
            ("user", f"And mine? {second}"),
        ]
        # Other conversations take the process over; the session's next turn is
        # appended to a warm process from the store, still without a spawn.
        for n in range(3):
            other = httpx.post(
                f"{proc.url}/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": f"other {n}"}]},
                timeout=60,
            )
            assert other.status_code == 200
        assert chat(proc.url, session, f"Still me? {third}").status_code == 200
        assert turns(upstream.recorded(third)[-1].body["messages"])[:4] == [
            ("user", f"My name is Ada {first}"),
            ("assistant", f"You said: My name is Ada {first}"),
            ("user", f"And mine? {second}"),
            ("assistant", f"You said: And mine? {second}"),
        ]
        assert wait_until(lambda: pool(proc)["busy"] == 0)
        after = pool(proc)
        assert after["spawned"] == before["spawned"]
        assert after["kept_session_hits"] == before["kept_session_hits"] + 3
        assert after["seeded_hits"] == before["seeded_hits"] + 1
        record = httpx.get(f"{proc.url}/v1/sessions/{session}").json()
        assert record["turn_count"] == 3
        assert proc.stop(signal.SIGTERM) == 0
    # The transcript the server wrote is the CLI's own format: a cold CLI resumes it.
    with ServerProcess(upstream.url, env={**env, "POOL_ENABLED": "false"}) as again:
        assert chat(again.url, session, f"After the restart {fourth}").status_code == 200
    assert turns(upstream.recorded(fourth)[-1].body["messages"]) == [
        ("user", f"My name is Ada {first}"),
        ("assistant", f"You said: My name is Ada {first}"),
        ("user", f"And mine? {second}"),
        ("assistant", f"You said: And mine? {second}"),
        ("user", f"Still me? {third}"),
        ("assistant", f"You said: Still me? {third}"),
        ("user", f"After the restart {fourth}"),
    ]


def test_expired_sessions_start_over(upstream: FakeUpstream) -> None:
    with ServerProcess(upstream.url, env={"SESSION_TTL_SECONDS": "1"}) as proc:
        session, first, second = f"exp-{marker()}", marker(), marker()
        assert chat(proc.url, session, first).status_code == 200
        assert wait_until(
            lambda: httpx.get(f"{proc.url}/v1/sessions/{session}").status_code == 404, timeout=10
        )
        assert chat(proc.url, session, second).status_code == 200
        assert first not in upstream.recorded(second)[-1].text
        assert httpx.get(f"{proc.url}/v1/sessions/{session}").json()["turn_count"] == 1


def test_a_session_survives_a_restart(upstream: FakeUpstream, tmp_path: Path) -> None:
    session, first, second = f"rs-{marker()}", marker(), marker()
    env = {"DATA_DIR": str(tmp_path / "data")}
    with ServerProcess(upstream.url, env=env) as proc:
        assert chat(proc.url, session, f"remember {first}").status_code == 200
        assert proc.stop(signal.SIGTERM) == 0
    with ServerProcess(upstream.url, env=env) as again:
        assert chat(again.url, session, f"recall {second}").status_code == 200
    seen = turns(upstream.recorded(second)[-1].body["messages"])
    assert seen[0] == ("user", f"remember {first}")
    assert seen[-1] == ("user", f"recall {second}")


def test_two_replicas_share_sessions_through_redis(
    upstream: FakeUpstream, redis_server: RedisServer
) -> None:
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    env = {"SESSION_STORE_URL": f"{redis_server.url}?prefix={prefix}"}
    with (
        ServerProcess(upstream.url, env=env) as a,
        ServerProcess(upstream.url, env={**env, "POOL_ENABLED": "false"}, worker_class="trio") as b,
    ):
        session, first, second = f"rep-{marker()}", marker(), marker()
        assert chat(a.url, session, f"on A {first}").status_code == 200
        assert chat(b.url, session, f"on B {second}").status_code == 200
        seen = turns(upstream.recorded(second)[-1].body["messages"])
        assert seen == [
            ("user", f"on A {first}"),
            ("assistant", f"You said: on A {first}"),
            ("user", f"on B {second}"),
        ]
        listed = httpx.get(f"{b.url}/v1/sessions").json()
        assert session in [s["session_id"] for s in listed["sessions"]]
        # Turn 3 back on A: A's warm process is stale (B took turn 2), so A resumes from Redis.
        third = marker()
        assert chat(a.url, session, f"back on A {third}").status_code == 200
        assert len(turns(upstream.recorded(third)[-1].body["messages"])) == 5
        assert httpx.delete(f"{a.url}/v1/sessions/{session}").status_code == 200
        assert httpx.get(f"{b.url}/v1/sessions/{session}").status_code == 404
        assert json.dumps(listed)


def test_sessions_work_on_the_anthropic_and_responses_dialects(
    sessions_server: ServerProcess, upstream: FakeUpstream
) -> None:
    session, first, second, third = f"d-{marker()}", marker(), marker(), marker()
    url = sessions_server.url
    ant = httpx.post(
        f"{url}/v1/messages",
        json={
            "model": "claude-sonnet-4-6",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": f"one {first}"}],
        },
        headers={"x-session-id": session},
        timeout=60,
    )
    assert ant.status_code == 200
    with openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0) as client:
        client.responses.create(
            model="claude-sonnet-4-6", input=f"two {second}", extra_body={"session_id": session}
        )
    assert chat(url, session, f"three {third}").status_code == 200
    seen = [text for role, text in turns(upstream.recorded(third)[-1].body["messages"])]
    assert seen == [
        f"one {first}",
        f"You said: one {first}",
        f"two {second}",
        f"You said: two {second}",
        f"three {third}",
    ]
