"""Codex CLI (npm ``@openai/codex``) as a client of ``/v1/responses``, with its default features.

Codex is configured the way its documentation has a user add a custom provider
(``wire_api = "responses"``), nothing else: multi-agent tools (a ``namespace``
tool) and the hosted ``web_search`` tool stay on. The server's CLI answers from
the fake upstream; a scripted tool call goes back to Codex, which runs it and
sends the output.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agents.clients import CLIENT_KEY, agent_env, npm_modules, run_agent
from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Recorded, Reply

pytestmark = pytest.mark.e2e

MODEL = "claude-sonnet-4-6"
# Every outbound connection Codex makes on its own (plugin sync, its account
# backend) goes to a closed loopback port; only the server is reached directly.
TRAP_PROXY = "http://127.0.0.1:9"


def codex_resources() -> Path:
    """The directory of the bubblewrap that ships with Codex's Linux package."""
    found = sorted((npm_modules() / "@openai").glob("codex-linux-*/vendor/*/codex-resources"))
    return found[0] if found else npm_modules()


class Codex:
    def __init__(self, root: Path, server_url: str) -> None:
        self.home = root / "home"
        self.codex_home = self.home / ".codex"
        self.work = root / "work"
        self.codex_home.mkdir(parents=True)
        self.work.mkdir()
        (self.codex_home / "config.toml").write_text(
            f'model = "{MODEL}"\n'
            'model_provider = "wrapper"\n\n'
            "[model_providers.wrapper]\n"
            'name = "claude-wrapper"\n'
            f'base_url = "{server_url}/v1"\n'
            'env_key = "WRAPPER_API_KEY"\n'
            'wire_api = "responses"\n'
        )
        self.binary = str(npm_modules() / ".bin" / "codex")
        self.env = agent_env(
            self.home,
            {
                # Codex runs commands under bubblewrap: its own copy unless a system one is
                # on PATH, and the system one cannot find Codex's sandbox helper. Its own
                # copy first keeps the default sandbox working on machines with either.
                "PATH": f"{codex_resources()}{os.pathsep}{os.environ.get('PATH', '')}",
                "CODEX_HOME": str(self.codex_home),
                "WRAPPER_API_KEY": CLIENT_KEY,
                "HTTPS_PROXY": TRAP_PROXY,
                "HTTP_PROXY": TRAP_PROXY,
                "ALL_PROXY": TRAP_PROXY,
            },
        )

    def exec(self, *args: str) -> str:
        command = [self.binary, "exec", "--skip-git-repo-check", *args]
        done = run_agent(command, self.env, self.work)
        assert done.returncode == 0, f"codex exited {done.returncode}:\n{done.stderr}"
        return done.stdout


@pytest.fixture
def codex(tmp_path: Path, server: ServerProcess) -> Codex:
    return Codex(tmp_path, server.url)


def marker() -> str:
    return f"CX{uuid.uuid4().hex[:10]}"


def tool_names(request: Recorded) -> set[str]:
    return {tool["name"] for tool in request.body.get("tools") or []}


def tool_result_texts(request: Recorded) -> list[str]:
    texts: list[str] = []
    for message in request.body["messages"]:
        if message["role"] != "user" or isinstance(message["content"], str):
            continue
        for block in message["content"]:
            if block.get("type") != "tool_result":
                continue
            content: Any = block.get("content")
            if isinstance(content, str):
                texts.append(content)
            else:
                texts.append("".join(part.get("text", "") for part in content or []))
    return texts


def test_exec_with_default_features_answers(codex: Codex, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.text(f"codex hello {tag}"))
    assert f"codex hello {tag}" in codex.exec(f"say hi {tag}")
    (request,) = upstream.recorded(tag)
    names = tool_names(request)
    # The multi-agent namespace reaches the model as flat functions; web_search is left out.
    assert {"exec_command", "multi_agent_v1__spawn_agent", "multi_agent_v1__wait_agent"} <= names
    assert not any("web_search" in name for name in names)


def test_exec_command_round_trip(codex: Codex, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply.tool("exec_command", {"cmd": f"echo {tag}-ran"}),
        Reply.text(f"the command said {tag}-ran"),
    )
    assert f"the command said {tag}-ran" in codex.exec(f"run echo {tag}")
    requests = upstream.recorded(tag)
    assert len(requests) == 2
    texts = tool_result_texts(requests[-1])
    assert any(f"{tag}-ran" in text for text in texts), texts


def test_a_namespaced_call_reaches_codex_in_its_own_form(
    codex: Codex, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply.tool("multi_agent_v1__wait_agent", {"targets": ["nobody"], "timeout_ms": 10}),
        Reply.text(f"waited {tag}"),
    )
    assert f"waited {tag}" in codex.exec(f"wait for an agent {tag}")
    requests = upstream.recorded(tag)
    assert len(requests) == 2
    (result,) = tool_result_texts(requests[-1])
    # Codex ran its own wait_agent (it knows no agent "nobody"); a call it could not
    # route would have come back as an unknown tool instead.
    assert "multi_agent_v1__wait_agent" not in result
    assert "nobody" in result


def test_output_schema(codex: Codex, upstream: FakeUpstream, tmp_path: Path) -> None:
    tag = marker()
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    upstream.script(tag, Reply.tool("StructuredOutput", {"answer": tag}))
    output = codex.exec("--output-schema", str(path), f"answer {tag}")
    assert json.loads(output.strip().splitlines()[-1]) == {"answer": tag}


def test_exec_resume_continues_the_session(codex: Codex, upstream: FakeUpstream) -> None:
    first, second = marker(), marker()
    upstream.script(first, Reply.text(f"first reply {first}"))
    codex.exec(f"remember {first}")
    upstream.script(second, Reply.text(f"second reply {second}"))
    assert f"second reply {second}" in codex.exec("resume", "--last", f"and then {second}")
    (request,) = upstream.recorded(second)
    assert f"remember {first}" in request.text
    assert f"first reply {first}" in request.text
