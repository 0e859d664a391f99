"""A Backend that runs each tool-enabled turn in its conversation's private workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec

from wrapper.backend.workspaces import Workspaces
from wrapper.events import AgentEvent, AgentSettings, Backend, Turn


class WorkspaceBackend:
    """Wraps ``inner``; implements :class:`~wrapper.events.Backend`."""

    def __init__(self, inner: Backend, workspaces: Workspaces) -> None:
        self.inner = inner
        self.workspaces = workspaces

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        if not turn.server_tools:
            async with self.inner.open(turn) as events:
                yield events
            return
        async with self.workspaces.open(turn.session_id) as (path, disposable):
            agent = msgspec.structs.replace(
                turn.agent or AgentSettings(), workspace=path, disposable=disposable
            )
            async with self.inner.open(msgspec.structs.replace(turn, agent=agent)) as events:
                yield events
