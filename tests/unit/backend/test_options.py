"""The CLI environment and options that keep upstream requests lean and isolated."""

from __future__ import annotations

import msgspec
import pytest

from wrapper.agent.catalogue import DEFAULT_TOOLS
from wrapper.backend.options import CliRuntime, build_options
from wrapper.backend.profile import Profile, profile_for
from wrapper.backend.tool_gate import ToolGate
from wrapper.events import AgentSettings, McpServer, Message, TextPart, ToolSpec, Turn
from wrapper.upstream.auth import detect_upstream_auth

ENV = {
    "ANTHROPIC_API_KEY": "sk-ant-test",
    "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-test",
    "AWS_REGION": "eu-west-1",
    "ANTHROPIC_VERTEX_PROJECT_ID": "p",
    "CLOUD_ML_REGION": "r",
    "HOME": "/h",
}
TOOL = ToolSpec(name="get_time", description="Time.", input_schema={"type": "object"})


def runtime(method: str, *, load_filesystem_settings: bool = False) -> CliRuntime:
    auth = detect_upstream_auth(method, ENV)
    return CliRuntime(
        config_dir="/tmp/c",
        cwd="/tmp/w",
        auth_env=auth.cli_env,
        load_filesystem_settings=load_filesystem_settings,
    )


def test_every_process_gets_no_countdown_and_no_auto_memory() -> None:
    for method in ("api_key", "cli", "bedrock", "vertex"):
        env = runtime(method).env()
        assert env["CLAUDE_CODE_TOTAL_TOKENS_REMINDER"] == "off"
        assert env["CLAUDE_CODE_DISABLE_AUTO_MEMORY"] == "1"


def test_api_key_auth_runs_bare_without_the_attribution_line() -> None:
    env = runtime("api_key").env()
    assert env["CLAUDE_CODE_SIMPLE"] == "1"
    assert env["CLAUDE_CODE_ATTRIBUTION_HEADER"] == "0"
    assert env["CLAUDE_CODE_DISABLE_CLAUDE_MDS"] == "1"


@pytest.mark.parametrize("method", ["cli", "bedrock", "vertex"])
def test_other_auth_methods_never_run_bare(method: str) -> None:
    # Bare mode accepts only ANTHROPIC_API_KEY; a stray CLAUDE_CODE_SIMPLE is blanked.
    env = runtime(method).env()
    assert env["CLAUDE_CODE_SIMPLE"] == ""
    assert "CLAUDE_CODE_ATTRIBUTION_HEADER" not in env
    assert env["CLAUDE_CODE_DISABLE_CLAUDE_MDS"] == "1"


def test_load_filesystem_settings_turns_the_isolation_off() -> None:
    opted_in = runtime("api_key", load_filesystem_settings=True)
    env = opted_in.env()
    assert env["CLAUDE_CODE_SIMPLE"] == ""
    assert "CLAUDE_CODE_DISABLE_CLAUDE_MDS" not in env
    options = build_options(opted_in, Profile(system_prompt="s"), model=None, gate=ToolGate())
    assert options.setting_sources is None
    assert options.skills is None


def test_by_default_no_setting_source_and_no_skill() -> None:
    options = build_options(runtime("cli"), Profile(system_prompt="s"), model=None, gate=ToolGate())
    assert options.setting_sources == []
    assert options.skills == []
    assert options.tools == []
    assert options.strict_mcp_config


def test_a_process_that_needs_its_stop_hook_does_not_run_bare() -> None:
    lean = runtime("api_key")
    plain = build_options(
        lean, Profile(system_prompt="s", tools=(TOOL,)), model=None, gate=ToolGate()
    )
    assert plain.env["CLAUDE_CODE_SIMPLE"] == "1"
    forced = Profile(system_prompt="s", tools=(TOOL,), must_call_tool=True)
    hooked = build_options(lean, forced, model=None, gate=ToolGate())
    assert hooked.hooks
    assert hooked.env["CLAUDE_CODE_SIMPLE"] == ""


def _agent_turn(**agent: object) -> Turn:
    settings = AgentSettings(**agent)  # type: ignore[arg-type]
    return Turn(
        model="m",
        messages=(Message("user", (TextPart("hi"),)),),
        server_tools=True,
        agent=settings,
    )


def test_claude_code_tools_run_without_bare_mode_and_with_the_default_set() -> None:
    profile = profile_for(_agent_turn())
    options = build_options(runtime("api_key"), profile, model=None, gate=ToolGate())
    assert options.env["CLAUDE_CODE_SIMPLE"] == ""
    assert options.tools == list(DEFAULT_TOOLS)
    assert set(DEFAULT_TOOLS) <= set(options.allowed_tools)
    assert options.permission_mode == "acceptEdits"
    assert options.cwd == "/tmp/w"


def test_allowed_disallowed_mode_workspace_and_mcp_reach_the_cli() -> None:
    server = McpServer(name="calc", config={"type": "stdio", "command": "calc"})
    turn = _agent_turn(
        allowed_tools=("Read", "Write", "Bash", "mcp__other__x"),
        disallowed_tools=("Bash", "mcp__calc__secret"),
        permission_mode="plan",
        mcp_servers=(server,),
        workspace="/tmp/ws/1",
    )
    options = build_options(runtime("api_key"), profile_for(turn), model=None, gate=ToolGate())
    assert options.tools == ["Read", "Write"]
    assert options.allowed_tools == ["Read", "Write", "mcp__other__x", "mcp__calc"]
    assert options.disallowed_tools == ["mcp__calc__secret"]
    assert options.permission_mode == "plan"
    assert options.cwd == "/tmp/ws/1"
    assert options.mcp_servers == {"calc": {"type": "stdio", "command": "calc"}}


def test_without_server_tools_no_claude_code_tool_and_no_permission_mode() -> None:
    profile = profile_for(Turn(model="m", messages=(Message("user", (TextPart("hi"),)),)))
    options = build_options(runtime("api_key"), profile, model=None, gate=ToolGate())
    assert options.tools == []
    assert options.permission_mode is None


def test_tool_enabled_processes_sandbox_bash_when_the_runtime_says_so() -> None:
    sandboxed = msgspec.structs.replace(runtime("api_key"), sandbox_required=True)
    options = build_options(sandboxed, profile_for(_agent_turn()), model=None, gate=ToolGate())
    assert options.sandbox is not None
    assert options.sandbox.get("enabled") is True
    assert options.sandbox.get("allowUnsandboxedCommands") is False
    plain = profile_for(Turn(model="m", messages=(Message("user", (TextPart("hi"),)),)))
    assert build_options(sandboxed, plain, model=None, gate=ToolGate()).sandbox is None
    unsandboxed = build_options(
        runtime("api_key"), profile_for(_agent_turn()), model=None, gate=ToolGate()
    )
    assert unsandboxed.sandbox is None


def test_the_client_keys_never_reach_the_cli_and_the_server_names_itself() -> None:
    runtime = CliRuntime(config_dir="/tmp/c", cwd="/tmp/w", client_app="claude-wrapper/1.2.3")
    env = runtime.env()
    assert env["API_KEY"] == env["API_KEYS"] == env["API_KEYS_FILE"] == ""
    options = build_options(runtime, Profile(system_prompt=""), model="m", gate=ToolGate())
    assert options.client_app == "claude-wrapper/1.2.3"
