"""Private workspaces: per session (kept), per one-shot turn (removed), the override."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.backend import FakeBackend, text_events
from wrapper.backend.layers.workspace import WorkspaceBackend
from wrapper.backend.workspaces import Workspaces
from wrapper.events import AgentSettings, Message, TextPart, Turn

pytestmark = pytest.mark.anyio


def turn(session_id: str | None = None, *, tools: bool = True) -> Turn:
    return Turn(
        model="m",
        messages=(Message("user", (TextPart("hi"),)),),
        server_tools=tools,
        agent=AgentSettings() if tools else None,
        session_id=session_id,
    )


async def run(backend: WorkspaceBackend, request: Turn) -> None:
    async with backend.open(request) as events:
        async for _ in events:
            pass


async def test_sessions_keep_theirs_one_shots_lose_theirs(tmp_path: Path) -> None:
    workspaces = Workspaces(tmp_path / "ws")
    inner = FakeBackend(text_events("ok"))
    backend = WorkspaceBackend(inner, workspaces)
    await run(backend, turn("alpha"))
    await run(backend, turn("beta"))
    await run(backend, turn())
    await run(backend, turn(tools=False))
    alpha, beta, one_shot, plain = inner.turns
    assert alpha.agent is not None and beta.agent is not None and one_shot.agent is not None
    assert alpha.agent.workspace != beta.agent.workspace
    assert Path(str(alpha.agent.workspace)).is_dir() and not alpha.agent.disposable
    assert one_shot.agent.disposable and not Path(str(one_shot.agent.workspace)).exists()
    assert plain.agent is None
    assert await workspaces.sweep(["alpha"]) == 1
    assert Path(str(alpha.agent.workspace)).is_dir()
    assert not Path(str(beta.agent.workspace)).exists()
    await workspaces.remove_session("alpha")
    assert not Path(str(alpha.agent.workspace)).exists()


async def test_claude_cwd_overrides_every_workspace(tmp_path: Path) -> None:
    inner = FakeBackend(text_events("ok"))
    backend = WorkspaceBackend(inner, Workspaces(tmp_path / "ws", override=str(tmp_path)))
    await run(backend, turn("alpha"))
    await run(backend, turn())
    assert [t.agent.workspace for t in inner.turns if t.agent] == [str(tmp_path)] * 2
    assert tmp_path.is_dir()
