"""How the backend runs a turn of a client session (``session_id``).

The session's conversation lives in the CLI's own transcript, mirrored to the
durable session store through the SDK's ``session_store`` option; any replica
resumes it from there. The session service (``wrapper.sessions``) hands each
turn a *lease*: it serialises turns of one session across replicas, gives the
leased store view, and commits the turn once its transcript is durable.

A warm process may keep serving the same session across turns. Its SDK options
are fixed at start, so it gets a :class:`SessionLink`: a store that forwards to
the current turn's leased store and, between turns, holds anything the CLI
still mirrors (a late flush) until the next turn's store is attached.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from claude_agent_sdk import SessionStore


class TurnLease(Protocol):
    """What the backend uses of a session lease (see ``wrapper.sessions.service``)."""

    @property
    def session_id(self) -> str: ...

    @property
    def claude_session_id(self) -> str: ...

    @property
    def key(self) -> Any: ...

    is_new: bool
    store: Any
    record: Any

    async def commit(self, *, model: str | None = None) -> Any: ...


class SessionLeaser(Protocol):
    """Hands out turn leases (the session service)."""

    def lease(
        self, session_id: str, *, model: str | None = None
    ) -> AbstractAsyncContextManager[TurnLease]: ...


class SessionLink(SessionStore):
    """A ``session_store`` for a process that outlives one turn's lease."""

    list_session_summaries = SessionStore.list_session_summaries

    def __init__(self, target: Any) -> None:
        self._target: Any = target
        self._held: list[tuple[Any, list[Any]]] = []

    async def attach(self, target: Any) -> None:
        """Forward to ``target`` (the new turn's store); first hand it what was held."""
        held, self._held = self._held, []
        for key, entries in held:
            await target.append(key, entries)
        self._target = target

    def detach(self) -> None:
        """The turn is over: hold later appends until the next turn."""
        self._target = None

    async def append(self, key: Any, entries: list[Any]) -> None:
        if self._target is None:
            self._held.append((key, entries))
            return
        await self._target.append(key, entries)

    async def load(self, key: Any) -> Any:
        return None if self._target is None else await self._target.load(key)

    async def list_sessions(self, project_key: str) -> Any:
        return [] if self._target is None else await self._target.list_sessions(project_key)

    async def delete(self, key: Any) -> None:
        if self._target is not None:
            await self._target.delete(key)

    async def list_subkeys(self, key: Any) -> Any:
        return [] if self._target is None else await self._target.list_subkeys(key)


def session_digest(session_id: str, turn_count: int) -> str:
    """The pool key of a process that holds ``session_id`` after ``turn_count`` turns."""
    return f"session:{session_id}:{turn_count}"
