"""Claude Code (the ``claude`` CLI bundled in claude-agent-sdk) as a client of ``/v1/messages``.

The agent runs with its default settings (thinking on, its own tools), pointed at
the server by ``ANTHROPIC_BASE_URL`` alone; the server's own CLI answers from the
fake upstream. A tool call the fake scripts goes back to the client agent, which
runs its real Read or Bash tool and sends the result; the fake then sees that
result in the server CLI's next request.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agents.clients import CLIENT_KEY, agent_env, claude_binary, run_agent
from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Recorded, Reply, Thinking, ToolUse

pytestmark = pytest.mark.e2e

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class ClaudeCode:
    """One client agent: its HOME, its working directory and how to run it."""

    def __init__(self, root: Path, server_url: str) -> None:
        self.home = root / "home"
        self.work = root / "work"
        self.home.mkdir()
        self.work.mkdir()
        self.env = agent_env(
            self.home,
            {
                "ANTHROPIC_BASE_URL": server_url,
                "ANTHROPIC_API_KEY": CLIENT_KEY,
                # Privacy switch only (no update checks or telemetry off the machine);
                # the requests it sends the server are the default ones.
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            },
        )

    def run(self, *args: str) -> str:
        done = run_agent([claude_binary(), *args], self.env, self.work)
        assert done.returncode == 0, (
            f"claude exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
        return done.stdout


@pytest.fixture
def agent(tmp_path: Path, server: ServerProcess) -> ClaudeCode:
    return ClaudeCode(tmp_path, server.url)


def marker() -> str:
    return f"CC{uuid.uuid4().hex[:10]}"


def tool_results(request: Recorded) -> list[dict[str, Any]]:
    return [
        block
        for message in request.body["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [])


def test_print_mode_with_default_thinking_answers(
    agent: ClaudeCode, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text(f"hello from {tag}"))
    output = agent.run("-p", f"say hi {tag}")
    assert f"hello from {tag}" in output
    (request,) = upstream.recorded(tag)
    # What Claude Code typed reached the model; its system turn came along with it.
    assert f"say hi {tag}" in request.text


def test_read_and_bash_round_trip_through_the_agents_own_tools(
    agent: ClaudeCode, upstream: FakeUpstream
) -> None:
    tag = marker()
    (agent.work / "notes.txt").write_text(f"the secret is {tag}-file\n")
    upstream.script(
        tag,
        Reply(
            blocks=[
                Thinking("read the file first"),
                ToolUse("Read", {"file_path": str(agent.work / "notes.txt")}),
            ]
        ),
        Reply(blocks=[ToolUse("Bash", {"command": f"echo {tag}-bash", "description": "echo"})]),
        Reply.text(f"all done {tag}"),
    )
    output = agent.run("-p", f"read notes.txt then run echo {tag}")
    assert f"all done {tag}" in output
    requests = upstream.recorded(tag)
    assert len(requests) == 3
    read, bash = tool_results(requests[-1])[-2:]
    assert f"{tag}-file" in result_text(read)
    assert f"{tag}-bash" in result_text(bash)


def test_stream_json_with_partial_messages(agent: ClaudeCode, upstream: FakeUpstream) -> None:
    tag = marker()
    upstream.script(tag, Reply.text(f"streamed words for {tag}"))
    output = agent.run(
        "-p",
        f"stream {tag}",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
    )
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    deltas = [
        line["event"]["delta"]["text"]
        for line in lines
        if line.get("type") == "stream_event"
        and line["event"].get("type") == "content_block_delta"
        and line["event"]["delta"].get("type") == "text_delta"
    ]
    assert len(deltas) > 1
    assert "".join(deltas) == f"streamed words for {tag}"
    (result,) = [line for line in lines if line.get("type") == "result"]
    assert result["is_error"] is False


def test_continue_carries_the_conversation(agent: ClaudeCode, upstream: FakeUpstream) -> None:
    first, second = marker(), marker()
    upstream.script(first, Reply.text(f"first answer {first}"))
    agent.run("-p", f"remember {first}")
    upstream.script(second, Reply.text(f"second answer {second}"))
    output = agent.run("-p", "--continue", f"and now {second}")
    assert f"second answer {second}" in output
    (request,) = upstream.recorded(second)
    # The server's CLI saw the earlier exchange as real turns.
    assert f"remember {first}" in request.text
    assert f"first answer {first}" in request.text


def test_resume_by_session_id(agent: ClaudeCode, upstream: FakeUpstream) -> None:
    first, second = marker(), marker()
    upstream.script(first, Reply.text(f"noted {first}"))
    lines = agent.run("-p", f"note {first}", "--output-format", "json")
    session = json.loads(lines)["session_id"]
    upstream.script(second, Reply.text(f"resumed {second}"))
    assert f"resumed {second}" in agent.run("-p", "--resume", session, f"again {second}")
    (request,) = upstream.recorded(second)
    assert f"noted {first}" in request.text


def test_a_subagent_through_the_agent_tool(agent: ClaudeCode, upstream: FakeUpstream) -> None:
    tag, sub = marker(), marker()
    # The main conversation's rule is scripted last, so it wins once the subagent's
    # answer (which names the subagent's marker) is part of it.
    upstream.script(sub, Reply.text(f"subagent found it {sub}"))
    upstream.script(
        tag,
        Reply.tool(
            "Agent",
            {"description": "look around", "prompt": f"sub task {sub}", "subagent_type": "Explore"},
        ),
        Reply.text(f"the subagent is done {tag}"),
    )
    output = agent.run("-p", f"delegate {tag}")
    assert f"the subagent is done {tag}" in output
    # The subagent's own request reached the server as a request of its own...
    assert any(f"sub task {sub}" in r.text and tag not in r.text for r in upstream.recorded(sub))
    # ...and its answer came back to the main conversation as the Agent tool's result.
    assert any(f"subagent found it {sub}" in r.text for r in upstream.recorded(tag))


def test_reading_an_image(agent: ClaudeCode, upstream: FakeUpstream) -> None:
    tag = marker()
    (agent.work / "dot.png").write_bytes(PNG)
    upstream.script(
        tag,
        Reply.tool("Read", {"file_path": str(agent.work / "dot.png")}),
        Reply.text(f"a tiny image {tag}"),
    )
    assert f"a tiny image {tag}" in agent.run("-p", f"look at dot.png {tag}")
    last = upstream.recorded(tag)[-1]
    (result,) = tool_results(last)
    content = result["content"]
    assert isinstance(content, list)
    assert any(part.get("type") == "image" for part in content)
