"""The AI SDK (npm ``ai`` 6 + ``@ai-sdk/openai`` 3) with its default provider, the Responses API.

The provider stores every response (``store: true``) and, on later steps and turns,
refers to the items of the stored responses (``item_reference``) instead of resending
them. ``ai_sdk_agent.mjs`` runs a multi-step tool run (the SDK executes the tool
itself) and a second turn over the messages the first one returned.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.agents.clients import (
    AGENTS_DIR,
    CLIENT_KEY,
    agent_env,
    npm_modules,
    run_agent,
    unavailable,
)
from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Recorded, Reply, Thinking, ToolUse

pytestmark = pytest.mark.e2e

MODEL = "claude-sonnet-4-6"


def run_sdk_agent(
    server: ServerProcess, home: Path, prompt: str, follow_up: str, mode: str = ""
) -> dict[str, Any]:
    npm_modules()
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    assert node is not None
    env = agent_env(home, {"WRAPPER_API_KEY": CLIENT_KEY})
    command = [node, str(AGENTS_DIR / "ai_sdk_agent.mjs"), f"{server.url}/v1", MODEL]
    done = run_agent([*command, prompt, follow_up, mode], env, AGENTS_DIR)
    assert done.returncode == 0, f"the AI SDK agent failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def marker() -> str:
    return f"AI{uuid.uuid4().hex[:10]}"


def tool_results(request: Recorded) -> list[dict[str, Any]]:
    return [
        block
        for message in request.body["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


def assistant_blocks(request: Recorded) -> list[dict[str, Any]]:
    return [
        block
        for message in request.body["messages"]
        if message["role"] == "assistant" and isinstance(message["content"], list)
        for block in message["content"]
    ]


@pytest.mark.parametrize("mode", ["generate", "stream"])
def test_multi_step_tool_run_and_a_second_turn_with_stored_items(
    server: ServerProcess, upstream: FakeUpstream, tmp_path: Path, mode: str
) -> None:
    tag, later = marker(), marker()
    upstream.script(
        tag,
        Reply(blocks=[Thinking("check the weather"), ToolUse("get_weather", {"city": "Oslo"})]),
        Reply.text(f"It is sunny in Oslo {tag}"),
    )
    upstream.script(later, Reply.text(f"Still sunny {later}"))
    result = run_sdk_agent(
        server, tmp_path, f"weather in Oslo? {tag}", f"and tomorrow? {later}", mode
    )
    assert result["first"] == {"text": f"It is sunny in Oslo {tag}", "steps": 2}
    assert result["second"] == {"text": f"Still sunny {later}", "steps": 1}
    # The second step carried the SDK's own tool result for the call the model made.
    step_two = upstream.recorded(tag)[1]
    (result_block,) = tool_results(step_two)
    assert "sunny in Oslo" in json.dumps(result_block)
    # The second turn's history came from stored items: the call and its thinking
    # reached the model as they were produced, signature included.
    (turn_two,) = upstream.recorded(later)
    blocks = assistant_blocks(turn_two)
    assert any(b.get("type") == "tool_use" and b.get("name") == "get_weather" for b in blocks)
    assert any(b.get("type") == "thinking" and b.get("signature") for b in blocks)
    assert f"It is sunny in Oslo {tag}" in turn_two.text
