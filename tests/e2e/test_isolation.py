"""Cost and isolation: upstream gets the client's text and little else.

Through the whole real chain (official openai client -> server -> SDK -> real CLI
-> fake upstream), in both backend modes unless noted:

* a plain chat request carries no tool definitions, the client's system prompt
  in ``system``, and at most ``TARGET`` characters the client did not write;
* client tools (and a JSON schema's StructuredOutput tool) are the only tools;
* a second turn repeats the first turn's request as its prefix (so the prompt
  cache can read it) and the client sees the cache figures the upstream reports;
* nothing of the server's machine reaches the request: no CLAUDE.md, settings,
  hooks or skills planted in its HOME or working directory, unless the operator
  opts in with ``LOAD_FILESYSTEM_SETTINGS=true`` (then they do).

Characters are counted on what the model reads (the rule benchmarks/ uses): the
text of every ``system`` block and message block, tool inputs and results, and
the compact JSON of every tool definition.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream, Recorded, Reply

pytestmark = pytest.mark.e2e

# The most characters the server may add to a plain chat request.
TARGET = 1_500
SYSTEM = "You are a helpful assistant."
MODEL = "claude-sonnet-4-6"
WEATHER: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def marker() -> str:
    return f"M{uuid.uuid4().hex[:10]}"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _block_chars(block: dict[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return len(block.get("text", ""))
    if kind == "tool_use":
        return len(_compact(block.get("input", {})))
    if kind == "tool_result":
        inner = block.get("content")
        if isinstance(inner, str):
            return len(inner)
        return sum(_block_chars(b) for b in inner or [] if isinstance(b, dict))
    return 0


def content_chars(body: dict[str, Any]) -> int:
    """Characters the model reads in an upstream Messages request."""
    system = body.get("system")
    total = len(system) if isinstance(system, str) else 0
    if isinstance(system, list):
        total += sum(_block_chars(block) for block in system)
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            total += len(content)
        else:
            total += sum(_block_chars(block) for block in content or [])
    return total + sum(len(_compact(tool)) for tool in body.get("tools") or [])


def system_texts(body: dict[str, Any]) -> list[str]:
    system = body.get("system")
    if isinstance(system, str):
        return [system]
    return [block.get("text", "") for block in system or []]


def tool_names(body: dict[str, Any]) -> list[str]:
    return [tool["name"] for tool in body.get("tools") or []]


def without_cache_marks(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_cache_marks(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [without_cache_marks(v) for v in value]
    return value


def plain_chat(client: openai.OpenAI, prompt: str) -> None:
    client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
    )


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)


# -- what a request carries -------------------------------------------------------------


def test_a_plain_chat_carries_the_clients_text_no_tools_and_little_else(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    prompt = f"Say hi {tag}"
    plain_chat(client, prompt)
    body = upstream.recorded(tag)[-1].body
    assert tool_names(body) == []
    assert SYSTEM in system_texts(body)
    added = content_chars(body) - len(SYSTEM) - len(prompt)
    assert 0 <= added <= TARGET
    # API-key auth runs the CLI in bare mode: no note about the server's machine.
    text = json.dumps(body)
    assert "Primary working directory" not in text
    assert "OS Version" not in text
    assert "x-anthropic-billing-header" not in text


def test_client_tools_and_the_structured_output_tool_are_the_only_tools(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": f"Weather? {tag}"}],
        tools=[WEATHER],
    )
    calls = upstream.recorded(tag)
    assert calls
    assert all(tool_names(call.body) == ["get_weather"] for call in calls)

    tag = marker()
    upstream.script(tag, Reply.tool("StructuredOutput", {"answer": "hi"}))
    client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": f"Answer in JSON {tag}"}],
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "answer",
                "schema": {
                    "type": "object",
                    "properties": {"answer": {"type": "string"}},
                    "required": ["answer"],
                },
            },
        },
    )
    calls = upstream.recorded(tag)
    assert calls
    assert all(tool_names(call.body) == ["StructuredOutput"] for call in calls)


def test_the_second_turn_repeats_the_first_as_a_cached_prefix_and_reports_cache_reads(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    cache = {"input_tokens": 9, "cache_read_input_tokens": 4321, "cache_creation_input_tokens": 17}
    upstream.script(tag, Reply.text("First answer."), Reply.text("Second answer.", usage=cache))
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Hello {tag}"},
    ]
    first = client.chat.completions.create(model=MODEL, messages=messages)
    messages += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And once more?"},
    ]
    second = client.chat.completions.create(model=MODEL, messages=messages)
    assert second.choices[0].message.content == "Second answer."
    usage = second.usage
    assert usage is not None
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 4321
    assert usage.prompt_tokens == 9 + 4321 + 17

    turn1, turn2 = (call.body for call in upstream.recorded(tag)[-2:])
    # Breakpoints: on the system prompt and on the newest user message.
    assert "cache_control" in turn1["system"][-1]
    for body in (turn1, turn2):
        last_user = next(m for m in reversed(body["messages"]) if m["role"] == "user")
        assert "cache_control" in last_user["content"][-1]
    # Turn 2 starts with exactly what turn 1 sent (nothing in it moved or changed).
    assert without_cache_marks(turn2["system"]) == without_cache_marks(turn1["system"])
    earlier = turn2["messages"][: len(turn1["messages"])]
    assert without_cache_marks(earlier) == without_cache_marks(turn1["messages"])


def test_with_a_cli_login_the_added_text_stays_under_the_target(
    upstream: FakeUpstream,
) -> None:
    """The CLI login (here a setup token) cannot use bare mode: the CLI adds its notes."""
    env = {
        "CLAUDE_AUTH_METHOD": "cli",
        "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-fake-test-token",
        "POOL_ENABLED": "false",
    }
    with ServerProcess(upstream.url, env=env) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        tag = marker()
        prompt = f"Say hi {tag}"
        plain_chat(client, prompt)
    call = upstream.recorded(tag)[-1]
    assert call.headers.get("authorization", "").startswith("Bearer sk-ant-oat01-")
    body = call.body
    assert tool_names(body) == []
    assert SYSTEM in system_texts(body)
    added = content_chars(body) - len(SYSTEM) - len(prompt)
    assert 0 <= added <= TARGET


# -- the server's machine ---------------------------------------------------------------


def plant(home: Path, cwd: Path, tag: str) -> None:
    """Settings, hooks, CLAUDE.md and skills in HOME and the working directory.

    Each one, if loaded, puts ``tag`` into the upstream request: CLAUDE.md and
    hook output into the messages, a settings ``env`` into a request header.
    """

    def write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def settings(origin: str, headers: bool) -> str:
        hook = {"type": "command", "command": f"echo {tag}-{origin}-hook"}
        value: dict[str, Any] = {"hooks": {"UserPromptSubmit": [{"hooks": [hook]}]}}
        if headers:
            value["env"] = {"ANTHROPIC_CUSTOM_HEADERS": f"x-planted: {tag}-{origin}-settings"}
        return json.dumps(value)

    def skill(origin: str) -> str:
        return f"---\nname: planted\ndescription: {tag}-{origin}-skill\n---\n{tag}-{origin}-skill\n"

    write(home / ".claude" / "settings.json", settings("home", headers=True))
    write(home / ".claude" / "CLAUDE.md", f"{tag}-home-claude-md\n")
    write(home / ".claude" / "skills" / "planted" / "SKILL.md", skill("home"))
    write(cwd / ".claude" / "settings.json", settings("cwd", headers=False))
    write(cwd / "CLAUDE.md", f"{tag}-cwd-claude-md\n")
    write(cwd / "AGENTS.md", f"{tag}-cwd-agents-md\n")
    write(cwd / ".claude" / "skills" / "planted" / "SKILL.md", skill("cwd"))


def planted_server(
    upstream: FakeUpstream, workdir: Path, tag: str, env: dict[str, str]
) -> ServerProcess:
    cwd = workdir / "cwd"
    cwd.mkdir(parents=True)
    server = ServerProcess(upstream.url, env={"CLAUDE_CWD": str(cwd), **env})
    plant(Path(server.env["HOME"]), cwd, tag)
    return server


def seen_upstream(call: Recorded) -> str:
    return call.text + json.dumps(call.headers)


@pytest.fixture(scope="module", params=["pooled", "cold"])
def pool_env(request: pytest.FixtureRequest) -> dict[str, str]:
    return {"POOL_ENABLED": "false"} if request.param == "cold" else {}


@pytest.fixture(scope="module")
def planted_tag() -> str:
    return marker()


@pytest.fixture(scope="module")
def isolated_server(
    upstream: FakeUpstream,
    tmp_path_factory: pytest.TempPathFactory,
    planted_tag: str,
    pool_env: dict[str, str],
) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("isolated")
    with planted_server(upstream, workdir, planted_tag, pool_env) as server:
        yield server


@pytest.fixture(scope="module")
def opted_in_server(
    upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory, planted_tag: str
) -> Iterator[ServerProcess]:
    """Pooled only: both modes build their CLI options alike."""
    workdir = tmp_path_factory.mktemp("opted-in")
    env = {"LOAD_FILESYSTEM_SETTINGS": "true"}
    with planted_server(upstream, workdir, planted_tag, env) as server:
        yield server


def test_nothing_from_the_servers_home_or_working_directory_reaches_upstream(
    isolated_server: ServerProcess, upstream: FakeUpstream, planted_tag: str
) -> None:
    client = openai.OpenAI(base_url=f"{isolated_server.url}/v1", api_key="unused", max_retries=0)
    tag = marker()
    plain_chat(client, f"Say hi {tag}")
    calls = upstream.recorded(tag)
    assert calls
    for call in calls:
        assert planted_tag not in seen_upstream(call)


def test_load_filesystem_settings_loads_claude_md_settings_and_hooks(
    opted_in_server: ServerProcess, upstream: FakeUpstream, planted_tag: str
) -> None:
    client = openai.OpenAI(base_url=f"{opted_in_server.url}/v1", api_key="unused", max_retries=0)
    tag = marker()
    plain_chat(client, f"Say hi {tag}")
    seen = seen_upstream(upstream.recorded(tag)[-1])
    for origin in ("home", "cwd"):
        assert f"{planted_tag}-{origin}-claude-md" in seen
        assert f"{planted_tag}-{origin}-hook" in seen
    assert f"{planted_tag}-home-settings" in seen
