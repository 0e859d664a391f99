"""Agent mode in-process: /v1/tools, the tools config, the MCP registry, workspaces, gates."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.asgi.driver import Exchange, make_app, quiet_settings, started
from tests.fakes.backend import FakeBackend, text_events
from wrapper.agent.catalogue import DEFAULT_TOOLS, TOOL_NAMES
from wrapper.app import App
from wrapper.config import SessionSettings

pytestmark = pytest.mark.anyio

KEY = "sk-test-agent"
AUTH = [("authorization", f"Bearer {KEY}"), ("content-type", "application/json")]
USER = [{"role": "user", "content": "hi"}]


def agent_app(
    tmp_path: Path, *, api_key: str | None = KEY, tools: bool = True
) -> tuple[App, FakeBackend]:
    backend = FakeBackend(text_events("ok"))
    settings = quiet_settings(
        api_key=api_key,
        enable_server_tools=tools,
        data_dir=str(tmp_path),
        sessions=SessionSettings(store_url=None),
    )
    return make_app(backend, settings)[0], backend


async def call(
    app: App,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: list[tuple[str, str]] | None = None,
    query: str = "",
) -> Exchange:
    raw = b"" if body is None else json.dumps(body).encode()
    return await Exchange(
        method, path, headers=[*AUTH, *(headers or [])], body=raw, query=query
    ).run(app)


async def test_tools_lists_the_cli_tools_with_descriptions(tmp_path: Path) -> None:
    app, _ = agent_app(tmp_path)
    async with started(app):
        listed = (await call(app, "GET", "/v1/tools")).json()
    assert {tool["name"] for tool in listed["tools"]} == TOOL_NAMES
    assert listed["total"] == len(TOOL_NAMES)
    assert listed["enabled"] is True
    assert all(tool["description"] for tool in listed["tools"])
    defaults = {tool["name"] for tool in listed["tools"] if tool["enabled_by_default"]}
    assert defaults == set(DEFAULT_TOOLS)


async def test_the_tools_config_sets_what_later_requests_get(tmp_path: Path) -> None:
    app, backend = agent_app(tmp_path)
    async with started(app):
        set_global = await call(
            app,
            "POST",
            "/v1/tools/config",
            {"allowed_tools": ["Read", "Write"], "permission_mode": "plan", "max_turns": 4},
        )
        assert set_global.status == 200
        assert set_global.json()["effective_tools"] == ["Read", "Write"]
        override = await call(
            app, "POST", "/v1/tools/config", {"allowed_tools": ["Bash"], "session_id": "s1"}
        )
        assert override.json()["effective_permission_mode"] == "plan"
        got = await call(app, "GET", "/v1/tools/config", query="session_id=s1")
        assert got.json()["allowed_tools"] == ["Bash"]
        assert got.json()["effective_max_turns"] == 4

        chat = {"model": "m", "messages": USER, "enable_tools": True}
        assert (await call(app, "POST", "/v1/chat/completions", chat)).status == 200
        assert (
            await call(app, "POST", "/v1/chat/completions", {**chat, "session_id": "s1"})
        ).status == 200
        headers = [("x-claude-allowed-tools", "Edit"), ("x-claude-permission-mode", "default")]
        assert (
            await call(app, "POST", "/v1/chat/completions", chat, headers=headers)
        ).status == 200
    one_shot, in_session, by_header = backend.turns
    assert one_shot.agent is not None and one_shot.agent.allowed_tools == ("Read", "Write")
    assert one_shot.agent.permission_mode == "plan"
    assert one_shot.max_turns == 4
    assert in_session.agent is not None and in_session.agent.allowed_tools == ("Bash",)
    assert by_header.agent is not None and by_header.agent.allowed_tools == ("Edit",)
    assert by_header.agent.permission_mode == "default"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"allowed_tools": ["Read", "Glob"]}, "allowed_tools"),
        ({"permission_mode": "yolo"}, "permission_mode"),
        ({"max_turns": 0}, "max_turns"),
        ({"mcp_servers": ["nope"]}, "mcp_servers"),
        ({"colour": "red"}, None),
    ],
)
async def test_a_bad_tools_config_is_a_400(
    tmp_path: Path, body: dict[str, Any], param: str | None
) -> None:
    app, _ = agent_app(tmp_path)
    async with started(app):
        answer = await call(app, "POST", "/v1/tools/config", body)
    assert answer.status == 400
    if param is not None:
        assert answer.json()["error"]["param"] == param


async def test_workspaces_one_shot_removed_session_kept_until_deleted(tmp_path: Path) -> None:
    app, backend = agent_app(tmp_path)
    chat = {"model": "m", "messages": USER, "enable_tools": True}
    async with started(app):
        await call(app, "POST", "/v1/chat/completions", chat)
        await call(app, "POST", "/v1/chat/completions", {**chat, "session_id": "keep"})
        await call(app, "POST", "/v1/chat/completions", {"model": "m", "messages": USER})
        one_shot, session, plain = backend.turns
        assert one_shot.agent is not None and one_shot.agent.disposable
        assert one_shot.agent.workspace is not None
        assert not Path(one_shot.agent.workspace).exists()
        assert session.agent is not None and not session.agent.disposable
        kept = Path(str(session.agent.workspace))
        assert kept.is_dir() and kept.is_relative_to(tmp_path / "workspaces")
        assert plain.agent is None
        assert app.ctx is not None
        # The scripted backend keeps no session record: make the one the CLI's would.
        async with app.ctx.stores.sessions.lease("keep", model="m") as lease:
            await lease.commit(model="m")
        deleted = await call(app, "DELETE", "/v1/sessions/keep")
        assert deleted.status == 200
        assert not kept.exists()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"model": "m", "messages": USER, "enable_tools": True}),
        (
            "/v1/messages",
            {"model": "m", "max_tokens": 5, "messages": USER, "enable_tools": True},
        ),
        ("/v1/responses", {"model": "m", "input": "hi", "enable_tools": True}),
    ],
)
async def test_enable_tools_is_a_400_on_every_api_unless_the_operator_allows_it(
    tmp_path: Path, path: str, body: dict[str, Any]
) -> None:
    app, _ = agent_app(tmp_path, tools=False)
    async with started(app):
        answer = await call(app, "POST", path, body)
    assert answer.status == 400
    error = answer.json()["error"]
    assert error.get("param", "enable_tools") == "enable_tools"
    assert "ENABLE_SERVER_TOOLS" in error["message"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
async def test_a_bad_agent_header_is_a_400_naming_it_on_every_api(
    tmp_path: Path, path: str
) -> None:
    app, _ = agent_app(tmp_path)
    body: dict[str, Any] = {"model": "m", "enable_tools": True}
    body |= {"input": "hi"} if path == "/v1/responses" else {"messages": USER, "max_tokens": 5}
    async with started(app):
        answer = await call(app, "POST", path, body, headers=[("x-claude-allowed-tools", "Nope")])
    assert answer.status == 400
    assert "x-claude-allowed-tools" in answer.json()["error"]["message"]


async def test_stdio_mcp_servers_need_an_api_key_and_server_tools(tmp_path: Path) -> None:
    stdio = {"name": "calc", "command": sys.executable, "args": ["-c", "pass"]}
    for api_key, tools in ((None, True), (KEY, False)):
        app, _ = agent_app(tmp_path, api_key=api_key, tools=tools)
        async with started(app):
            answer = await call(app, "POST", "/v1/mcp/servers", stdio)
        assert answer.status == 403, (api_key, tools)


async def test_mcp_secrets_are_never_echoed_and_failures_say_why(tmp_path: Path) -> None:
    app, _ = agent_app(tmp_path)
    secret = "sk-live-do-not-show"
    async with started(app):
        registered = await call(
            app,
            "POST",
            "/v1/mcp/servers",
            {"name": "broken", "command": "/nonexistent/mcp-server", "env": {"TOKEN": secret}},
        )
        assert registered.status == 200
        web = await call(
            app,
            "POST",
            "/v1/mcp/servers",
            {"name": "web", "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": secret}},
        )
        assert web.json()["type"] == "http"
        listed = await call(app, "GET", "/v1/mcp/servers")
        assert secret not in json.dumps(listed.json()) + json.dumps(registered.json())
        assert listed.json()["servers"][0]["env"] == {"TOKEN": "<redacted>"}
        failed = await call(app, "POST", "/v1/mcp/connect", {"server_name": "broken"})
        assert failed.status == 502
        assert "broken" in failed.json()["error"]["message"]
        unconnected = await call(
            app,
            "POST",
            "/v1/chat/completions",
            {"model": "m", "messages": USER, "enable_tools": True, "mcp_servers": ["broken"]},
        )
        assert unconnected.status == 400
        assert unconnected.json()["error"]["param"] == "mcp_servers"
        missing = await call(app, "POST", "/v1/mcp/disconnect", {"server_name": "ghost"})
        assert missing.status == 404
        stats = (await call(app, "GET", "/v1/mcp/stats")).json()
        assert stats["registered_servers"] == 2
        assert stats["connected_servers"] == 0
        bad_name = await call(app, "POST", "/v1/mcp/servers", {"name": "a b", "url": "http://x"})
        assert bad_name.status == 400
