"""Every script in examples/ runs against the real server (real CLI, fake upstream), and
the compose file describes two replicas that really share their sessions through Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import ROOT, ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply
from tests.redis_server import RedisServer
from wrapper.config import documented_variables

pytestmark = pytest.mark.e2e

EXAMPLES = ROOT / "examples"
KEY = "examples-key"


def marker() -> str:
    return f"X{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def keyed(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    with ServerProcess(upstream.url, env={"API_KEY": KEY}) as proc:
        yield proc


def run_example(command: list[str], url: str, **env: str) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANTHROPIC_", "OPENAI_", "CLAUDE_"))
    }
    environment.update({"CLAUDE_WRAPPER_URL": url, "API_KEY": KEY, "NO_PROXY": "127.0.0.1"})
    environment.update(env)
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def python_example(name: str, *args: str) -> list[str]:
    return [sys.executable, str(EXAMPLES / name), *args]


def test_every_example_is_exercised_here() -> None:
    source = Path(__file__).read_text()
    for path in EXAMPLES.iterdir():
        if path.suffix in {".py", ".sh", ".yaml"} and not path.name.startswith("_"):
            assert f'"{path.name}"' in source, f"{path.name} has no test"


def test_openai_chat(keyed: ServerProcess, upstream: FakeUpstream) -> None:
    tag = marker()
    out = run_example(python_example("openai_chat.py", tag), keyed.url)
    assert f"answer: You said: {tag}" in out
    assert f"streamed: You said: Say it again, slowly: {tag}" in out
    assert out.count("usage: CompletionUsage(") == 2
    assert len(upstream.recorded(tag)) == 2


def test_anthropic_messages(keyed: ServerProcess, upstream: FakeUpstream) -> None:
    tag = marker()
    out = run_example(python_example("anthropic_messages.py", tag), keyed.url)
    assert f"answer: You said: {tag}" in out
    assert f"streamed: You said: Once more: {tag}" in out
    assert "stop reason: end_turn" in out
    assert len(upstream.recorded(tag)) == 2


def test_curl_streaming(keyed: ServerProcess, upstream: FakeUpstream) -> None:
    tag = marker()
    out = run_example(["bash", str(EXAMPLES / "curl_streaming.sh"), tag], keyed.url)
    chat, messages = out.split("== POST /v1/messages")
    assert chat.count("data: {") >= 3
    assert chat.rstrip().endswith("data: [DONE]")
    assert "event: message_start" in messages
    assert "event: content_block_delta" in messages
    assert "event: message_stop" in messages
    assert len(upstream.recorded(tag)) == 2


def test_session_continuity(keyed: ServerProcess, upstream: FakeUpstream) -> None:
    name = marker()
    out = run_example(python_example("session_continuity.py", name), keyed.url)
    assert "session: 2 turns" in out
    assert "deleted: True" in out
    second = [r for r in upstream.recorded(name) if "What is my name?" in r.text]
    # The second turn sent only its new message; the server brought the first one along.
    assert len(second) == 1


def test_tools(keyed: ServerProcess, upstream: FakeUpstream) -> None:
    city = marker()
    upstream.script(
        city,
        Reply.tool("get_weather", {"city": city}),
        Reply.text(f"It is 21 degrees and clear in {city}."),
    )
    out = run_example(python_example("tools.py", city), keyed.url)
    assert f"tool call: get_weather({{'city': '{city}'}})" in out
    assert f"answer: It is 21 degrees and clear in {city}." in out
    final = upstream.recorded(city)[-1]
    assert "temperature_c" in final.text  # the tool's result reached the model


def test_responses_api(keyed: ServerProcess, upstream: FakeUpstream) -> None:
    tag = marker()
    out = run_example(python_example("responses_api.py", tag), keyed.url)
    assert f"first: You said: {tag}" in out
    assert "second: You said: Double it." in out
    follow_up = [r for r in upstream.recorded(tag) if "Double it." in r.text]
    assert len(follow_up) == 1  # previous_response_id brought the first turn along


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / "compose.yaml").read_text())
    return document


def test_compose_describes_two_replicas_on_one_redis() -> None:
    services = _compose()["services"]
    assert set(services) == {"redis", "replica-a", "replica-b"}
    a, b = services["replica-a"], services["replica-b"]
    assert a["environment"] == b["environment"]
    real = set(documented_variables())
    unknown = sorted(set(a["environment"]) - real)
    assert not unknown, f"not settings of this server: {unknown}"
    assert a["environment"]["SESSION_STORE_URL"].startswith("redis://redis:6379/")
    assert a["depends_on"]["redis"]["condition"] == "service_healthy"
    assert a["volumes"] != b["volumes"]  # DATA_DIR is per replica
    assert {a["ports"][0].split(":")[0], b["ports"][0].split(":")[0]} == {"8001", "8002"}
    assert a["build"]["dockerfile"] == "Containerfile"
    assert (EXAMPLES / a["build"]["context"] / "Containerfile").is_file()


def test_the_compose_replicas_share_a_session_through_redis(
    upstream: FakeUpstream, redis_server: RedisServer
) -> None:
    environment: dict[str, str] = dict(_compose()["services"]["replica-a"]["environment"])
    store = environment["SESSION_STORE_URL"].replace("redis://redis:6379", redis_server.url[:-2])
    environment.update({"SESSION_STORE_URL": store, "API_KEY": KEY})
    # The harness supplies the upstream credentials and each replica's own DATA_DIR.
    for name in ("ANTHROPIC_API_KEY", "DATA_DIR"):
        environment.pop(name)
    name = marker()
    with (
        ServerProcess(upstream.url, env=environment) as a,
        ServerProcess(upstream.url, env=environment) as b,
    ):
        out = run_example(
            python_example("session_continuity.py", name), a.url, CLAUDE_WRAPPER_SECOND_URL=b.url
        )
    assert f"[{b.url}] turn 2:" in out
    assert "session: 2 turns" in out
    second = [r for r in upstream.recorded(name) if "What is my name?" in r.text]
    assert len(second) == 1  # replica B resumed the conversation replica A began
