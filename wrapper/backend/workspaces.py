"""Private working directories for Claude Code's tools, one per conversation.

A tool-enabled turn runs its CLI in a directory of its own under
``DATA_DIR/workspaces``: a client session's is kept across the session's turns
(``sessions/<digest of the session id>``) and removed when the session is
deleted or expires; a one-shot request's (``turns/<random>``) is removed when
the turn ends. ``CLAUDE_CWD``, when set, overrides all of it: every turn then
shares that directory, as the operator asked. The server's own tree is never
a workspace.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from wrapper.logging import get_logger

log = get_logger(__name__)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()[:32]


class Workspaces:
    """Where tool-enabled turns run."""

    def __init__(self, root: Path, *, override: str | None = None) -> None:
        self.root = root
        self.override = override

    @property
    def sessions_dir(self) -> Path:
        return self.root / "sessions"

    def for_session(self, session_id: str) -> Path:
        return self.sessions_dir / _digest(session_id)

    @asynccontextmanager
    async def open(self, session_id: str | None) -> AsyncIterator[tuple[str, bool]]:
        """The directory of a turn and whether it is the turn's alone (removed after it)."""
        if self.override:
            yield self.override, False
            return
        if session_id is not None:
            path = self.for_session(session_id)
            await anyio.to_thread.run_sync(lambda: path.mkdir(parents=True, exist_ok=True))
            yield str(path), False
            return
        path = self.root / "turns" / uuid.uuid4().hex
        await anyio.to_thread.run_sync(lambda: path.mkdir(parents=True))
        try:
            yield str(path), True
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))

    async def remove_session(self, session_id: str) -> None:
        """Delete a session's workspace (the session was deleted)."""
        path = self.for_session(session_id)
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))

    async def sweep(self, live_sessions: Iterable[str]) -> int:
        """Delete the workspaces of sessions that no longer exist; returns how many."""
        keep = {_digest(session_id) for session_id in live_sessions}

        def sweep() -> int:
            if not self.sessions_dir.is_dir():
                return 0
            removed = 0
            for path in self.sessions_dir.iterdir():
                if path.name not in keep:
                    shutil.rmtree(path, ignore_errors=True)
                    removed += 1
            return removed

        removed = await anyio.to_thread.run_sync(sweep)
        if removed:
            log.info("workspaces.swept", removed=removed)
        return removed

    async def clear_turns(self) -> None:
        """Delete one-shot workspaces a previous run left behind (it was killed)."""
        turns = self.root / "turns"
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(turns, ignore_errors=True))
