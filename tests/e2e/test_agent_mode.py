"""Agent mode through the real chain: Claude Code's own tools, workspaces, config, MCP.

The fake upstream plays the model: it calls Claude Code's tools (Write, Read,
Bash, an MCP server's tool), and the real CLI runs them in the conversation's
workspace; the tests check the files on disk, what the CLI sent upstream, what
the client saw, and the counts.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import anyio
import httpx
import openai
import pytest
from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient, SystemMessage

from tests.e2e.harness import FAKE_KEY, ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Reply
from wrapper.agent.catalogue import DEFAULT_TOOLS, TOOL_NAMES
from wrapper.backend.sandbox import sandbox_available

pytestmark = pytest.mark.e2e

KEY = "sk-wrapper-agent-e2e"
CALC = Path(__file__).resolve().parents[1] / "fakes" / "mcp_calc_server.py"


def marker() -> str:
    return f"A{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module", params=["pooled", "cold"])
def agent_server(upstream: FakeUpstream, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    env = {"ENABLE_SERVER_TOOLS": "true", "API_KEY": KEY}
    if request.param == "cold":
        env["POOL_ENABLED"] = "false"
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


@pytest.fixture
def chat(agent_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{agent_server.url}/v1", api_key=KEY, max_retries=0, timeout=120)


@pytest.fixture
def api(agent_server: ServerProcess) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=agent_server.url, headers=headers, timeout=60) as client:
        yield client


def workspace_of(server: ServerProcess, session_id: str) -> Path:
    digest = hashlib.sha256(session_id.encode()).hexdigest()[:32]
    return Path(server.env["DATA_DIR"]) / "workspaces" / "sessions" / digest


def results_sent(upstream: FakeUpstream, tag: str) -> list[str]:
    """The tool results the CLI sent upstream, in order."""
    last = upstream.recorded(tag)[-1].body
    found = []
    for message in last["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "tool_result":
                content = block.get("content")
                if isinstance(content, list):
                    content = " ".join(part.get("text", "") for part in content)
                found.append(str(content))
    return found


def offered_tools(upstream: FakeUpstream, tag: str) -> list[str]:
    return sorted(tool["name"] for tool in upstream.recorded(tag)[0].body.get("tools", []))


def test_the_catalogue_is_the_cli_init_tool_list(upstream: FakeUpstream) -> None:
    """Every name the server accepts is a tool the bundled CLI really has."""

    async def init_tools() -> list[str]:
        home = tempfile.mkdtemp(prefix="agent-init-")
        env = {
            "ANTHROPIC_BASE_URL": upstream.url,
            "ANTHROPIC_API_KEY": FAKE_KEY,
            "HOME": home,
            "CLAUDE_CONFIG_DIR": f"{home}/config",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_SIMPLE": "",
            "ENABLE_TOOL_SEARCH": "false",
        }
        options = ClaudeAgentOptions(
            env=env,
            setting_sources=[],
            skills=[],
            cwd=home,
            extra_args={"no-session-persistence": None},
        )
        async with ClaudeSDKClient(options) as client:
            await client.query("list your tools")
            async for message in client.receive_response():
                if isinstance(message, SystemMessage) and message.subtype == "init":
                    return [str(name) for name in message.data["tools"]]
        raise AssertionError("no init message")

    assert set(anyio.run(init_tools)) == TOOL_NAMES


def test_files_land_in_the_conversations_own_workspace_only(
    chat: openai.OpenAI, upstream: FakeUpstream, agent_server: ServerProcess
) -> None:
    tag_a, tag_b = marker(), marker()
    upstream.script(
        tag_a,
        Reply.tool("Write", {"file_path": "note.txt", "content": "alpha-only"}),
        Reply.tool("Read", {"file_path": "note.txt"}),
        Reply.text("wrote it"),
    )
    upstream.script(
        tag_b,
        Reply.tool("Bash", {"command": "pwd; cat note.txt || echo no-such-file"}),
        Reply.text("looked"),
    )
    first = chat.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"{tag_a} write a note"}],
        extra_body={"enable_tools": True, "session_id": f"alpha-{tag_a}"},
    )
    assert first.choices[0].message.content == "wrote it"
    steps = first.choices[0].message.model_extra or {}
    assert "Write: " in steps["reasoning_content"]
    assert "Read returned:" in steps["reasoning_content"]
    assert "alpha-only" in results_sent(upstream, tag_a)[-1]
    alpha = workspace_of(agent_server, f"alpha-{tag_a}")
    assert (alpha / "note.txt").read_text() == "alpha-only"

    stream = chat.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"{tag_b} look for the note"}],
        extra_body={"enable_tools": True, "session_id": f"beta-{tag_b}"},
        stream=True,
    )
    reasoning, content = [], []
    for chunk in stream:
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta is not None:
            reasoning.append((delta.model_extra or {}).get("reasoning_content") or "")
            content.append(delta.content or "")
    assert "".join(content) == "looked"
    assert "Bash returned:" in "".join(reasoning)
    beta = workspace_of(agent_server, f"beta-{tag_b}")
    shown = results_sent(upstream, tag_b)[-1]
    assert str(beta) in shown and "no-such-file" in shown
    assert not (beta / "note.txt").exists()
    assert beta != alpha and not str(beta).startswith(str(Path.cwd()))


def test_a_one_shot_workspace_is_removed_after_its_turn(
    chat: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag, Reply.tool("Bash", {"command": "pwd && touch scratch.txt"}), Reply.text("ok")
    )
    chat.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"{tag} scratch"}],
        extra_body={"enable_tools": True},
    )
    where = Path(results_sent(upstream, tag)[-1].strip().splitlines()[0])
    assert where.name and "workspaces" in where.parts
    assert not where.exists()


def test_plan_mode_refuses_a_write_and_stats_count_it(
    agent_server: ServerProcess, upstream: FakeUpstream, api: httpx.Client
) -> None:
    tag = marker()
    session = f"plan-{tag}"
    upstream.script(
        tag,
        Reply.tool("Write", {"file_path": "plan.txt", "content": "should not exist"}),
        Reply.text("planned"),
    )
    before = api.get("/v1/tools/stats").json()
    client = anthropic.Anthropic(base_url=agent_server.url, api_key=KEY, max_retries=0, timeout=120)
    message = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        messages=[{"role": "user", "content": f"{tag} write a plan file"}],
        extra_body={"enable_tools": True, "session_id": session},
        extra_headers={"X-Claude-Permission-Mode": "plan"},
    )
    texts = [block.text for block in message.content if block.type == "text"]
    steps = [block.thinking for block in message.content if block.type == "thinking"]
    assert texts == ["planned"]
    assert any(step.startswith("Write failed:") for step in steps)
    assert not (workspace_of(agent_server, session) / "plan.txt").exists()
    after = api.get("/v1/tools/stats").json()
    write = {tool["name"]: tool for tool in after["tools"]}["Write"]
    earlier = {tool["name"]: tool for tool in before["tools"]}.get("Write", {"errors": 0})
    assert write["errors"] == earlier["errors"] + 1
    assert after["total_calls"] >= before["total_calls"] + 1
    metrics = api.get("/metrics").text
    assert 'tool="Write"' in metrics and 'outcome="error"' in metrics


def test_the_tools_config_changes_what_a_later_request_gets(
    chat: openai.OpenAI, upstream: FakeUpstream, api: httpx.Client
) -> None:
    tag, later = marker(), marker()
    session = f"cfg-{tag}"
    upstream.script(tag, Reply.text("default set"))
    upstream.script(later, Reply.text("narrowed"))
    chat.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"{tag} hi"}],
        extra_body={"enable_tools": True, "session_id": session},
    )
    assert offered_tools(upstream, tag) == sorted(DEFAULT_TOOLS)
    configured = api.post(
        "/v1/tools/config",
        json={
            "session_id": session,
            "allowed_tools": ["Read", "Bash"],
            "disallowed_tools": ["Bash"],
        },
    )
    assert configured.status_code == 200
    assert configured.json()["effective_tools"] == ["Read"]
    chat.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"{later} hi again"}],
        extra_body={"enable_tools": True, "session_id": session},
    )
    assert offered_tools(upstream, later) == ["Read"]
    assert api.get("/v1/tools/config", params={"session_id": session}).json()["allowed_tools"] == [
        "Read",
        "Bash",
    ]


def test_a_registered_stdio_mcp_server_is_called_and_its_result_reaches_the_client(
    agent_server: ServerProcess, upstream: FakeUpstream, api: httpx.Client
) -> None:
    name = f"calc{uuid.uuid4().hex[:6]}"
    registered = api.post(
        "/v1/mcp/servers",
        json={
            "name": name,
            "command": sys.executable,
            "args": [str(CALC)],
            "env": {"CALC_TOKEN": "s3cret"},
        },
    )
    assert registered.status_code == 200, registered.text
    assert "s3cret" not in api.get("/v1/mcp/servers").text
    connected = api.post("/v1/mcp/connect", json={"server_name": name})
    assert connected.status_code == 200, connected.text
    assert {tool["name"] for tool in connected.json()["tools"]} == {"add", "whoami"}

    tag = marker()
    upstream.script(tag, Reply.tool(f"mcp__{name}__add", {"a": 2, "b": 3}), Reply.text("five"))
    client = openai.OpenAI(base_url=f"{agent_server.url}/v1", api_key=KEY, max_retries=0)
    response = client.responses.create(
        model="claude-sonnet-4-6",
        input=f"{tag} add 2 and 3",
        extra_body={"enable_tools": True, "mcp_servers": [name]},
    )
    assert response.output_text == "five"
    reasoning: list[Any] = [item for item in response.output if item.type == "reasoning"]
    shown = json.dumps([item.model_dump() for item in reasoning])
    assert "sum=5" in shown
    assert "sum=5" in results_sent(upstream, tag)[-1]
    # Offered directly: no ToolSearch detour.
    assert {f"mcp__{name}__add", f"mcp__{name}__whoami"} <= set(offered_tools(upstream, tag))
    assert "ToolSearch" not in offered_tools(upstream, tag)
    stats = api.get("/v1/mcp/stats").json()
    assert any(s["name"] == name and s["connected"] for s in stats["servers"])

    api.post("/v1/mcp/disconnect", json={"server_name": name})
    with pytest.raises(openai.BadRequestError):
        client.responses.create(
            model="claude-sonnet-4-6",
            input="again",
            extra_body={"enable_tools": True, "mcp_servers": [name]},
        )


def test_a_hosted_web_search_runs_on_claude_codes_websearch(
    agent_server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("searched"))
    client = openai.OpenAI(base_url=f"{agent_server.url}/v1", api_key=KEY, max_retries=0)
    response = client.responses.create(
        model="claude-sonnet-4-6", input=f"{tag} search", tools=[{"type": "web_search"}]
    )
    assert response.output_text == "searched"
    assert offered_tools(upstream, tag) == ["WebSearch"]


def test_bash_writes_only_inside_the_workspace_when_sandboxed(
    chat: openai.OpenAI, upstream: FakeUpstream
) -> None:
    if not sandbox_available():
        pytest.skip("no bubblewrap and socat on PATH: the CLI cannot sandbox Bash here")
    tag = marker()
    outside = Path(tempfile.gettempdir()) / f"agent-outside-{tag}"
    upstream.script(
        tag,
        Reply.tool("Bash", {"command": f"touch {outside}; touch inside.txt && echo inside-ok"}),
        Reply.text("tried"),
    )
    chat.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"{tag} write outside"}],
        extra_body={"enable_tools": True},
    )
    shown = results_sent(upstream, tag)[-1]
    assert "inside-ok" in shown
    assert "Read-only file system" in shown
    assert not outside.exists()


def test_a_client_tool_named_toolsearch_reaches_the_model_and_its_result_comes_back(
    chat: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "ToolSearch",
                "description": "Search the client's tool catalogue",
                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
            },
        },
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
    ]
    upstream.script(tag, Reply.tool("ToolSearch", {"query": "weather"}), Reply.text("found it"))
    question: list[Any] = [{"role": "user", "content": f"{tag} find a weather tool"}]
    first = chat.chat.completions.create(model="claude-sonnet-4-6", messages=question, tools=tools)
    sent = {tool["name"]: tool for tool in upstream.recorded(tag)[0].body["tools"]}
    assert sent["ToolSearch"]["description"] == "Search the client's tool catalogue"
    assert not sent["ToolSearch"].get("defer_loading")
    assert "get_time" in sent and not sent["get_time"].get("defer_loading")
    assert first.choices[0].finish_reason == "tool_calls"
    calls = first.choices[0].message.tool_calls or []
    assert [call.function.name for call in calls] == ["ToolSearch"]  # type: ignore[union-attr]
    second = chat.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[
            *question,
            first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": calls[0].id, "content": "get_weather(city)"},
        ],
        tools=tools,
    )
    assert second.choices[0].message.content == "found it"
    assert "get_weather(city)" in results_sent(upstream, tag)[-1]


def test_agent_headers_reach_the_cli_and_a_bad_one_is_a_400_on_each_api(
    agent_server: ServerProcess, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.text("read only"))
    claude = anthropic.Anthropic(base_url=agent_server.url, api_key=KEY, max_retries=0)
    claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=50,
        messages=[{"role": "user", "content": f"{tag} hi"}],
        extra_body={"enable_tools": True},
        extra_headers={"X-Claude-Allowed-Tools": "Read,Bash", "X-Claude-Disallowed-Tools": "Bash"},
    )
    assert offered_tools(upstream, tag) == ["Read"]
    with pytest.raises(anthropic.BadRequestError, match="x-claude-allowed-tools"):
        claude.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=50,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"enable_tools": True},
            extra_headers={"X-Claude-Allowed-Tools": "Glob"},
        )
    responses = openai.OpenAI(base_url=f"{agent_server.url}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="x-claude-permission-mode"):
        responses.responses.create(
            model="claude-sonnet-4-6",
            input="hi",
            extra_body={"enable_tools": True},
            extra_headers={"X-Claude-Permission-Mode": "yolo"},
        )


def test_the_step_limit_ends_the_reply_cut_short_with_its_steps(
    chat: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(tag, Reply.tool("Bash", {"command": "echo again"}))
    done = chat.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": f"{tag} loop"}],
        extra_body={"enable_tools": True},
        extra_headers={"X-Claude-Max-Turns": "2"},
    )
    assert done.choices[0].finish_reason == "length"
    steps = (done.choices[0].message.model_extra or {})["reasoning_content"]
    assert steps.count("Bash returned: again") == 2
    assert len(upstream.recorded(tag)) == 2


def test_a_sessions_workspace_is_kept_across_its_turns_and_removed_with_it(
    agent_server: ServerProcess, upstream: FakeUpstream, api: httpx.Client
) -> None:
    first, second = marker(), marker()
    session = f"keep-{first}"
    upstream.script(
        first,
        Reply.tool("Write", {"file_path": "kept.txt", "content": "from turn one"}),
        Reply.text("saved"),
    )
    upstream.script(second, Reply.tool("Read", {"file_path": "kept.txt"}), Reply.text("read"))
    claude = anthropic.Anthropic(base_url=agent_server.url, api_key=KEY, max_retries=0)
    claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=100,
        messages=[{"role": "user", "content": f"{first} save"}],
        extra_body={"enable_tools": True, "session_id": session},
    )
    with claude.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=100,
        messages=[{"role": "user", "content": f"{second} read it back"}],
        extra_body={"enable_tools": True, "session_id": session},
    ) as stream:
        final = stream.get_final_message()
    kinds = [block.type for block in final.content]
    assert kinds == ["thinking", "thinking", "text"]
    assert "from turn one" in final.content[1].thinking  # type: ignore[union-attr]
    workspace = workspace_of(agent_server, session)
    assert (workspace / "kept.txt").is_file()
    assert api.delete(f"/v1/sessions/{session}").status_code == 200
    assert not workspace.exists()
