"""The two halves of a session backend: transcripts and the session index.

Every backend (SQLite, Redis, memory) provides both, sharing one store. The
transcript half is the SDK's ``SessionStore`` plus what the
:class:`~wrapper.sessions.service.SessionManager` needs to roll a failed turn back
and to keep a session's transcript alive as long as its index record. The index
half holds one record per client session and the lease that serialises its turns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from wrapper.sessions.records import Acquired, SessionRecord, SessionStats
from wrapper.sessions.sdk_types import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStoreEntry,
    SessionStoreListEntry,
)

Clock = Callable[[], float]
"""Wall-clock time in Unix epoch seconds (``time.time``; tests inject their own)."""


class TranscriptStore(Protocol):
    """A ``SessionStore`` (append, load, list_sessions, delete, list_subkeys) and more."""

    kind: str
    """``sqlite``, ``redis`` or ``memory`` (for stats and logs)."""

    errors: tuple[type[Exception], ...]
    """Exceptions that mean the store itself failed (connection lost, disk full...)."""

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None: ...

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None: ...

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]: ...

    async def delete(self, key: SessionKey) -> None: ...

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]: ...

    async def count(self, key: SessionKey) -> int:
        """How many entries ``key`` holds (0 when it was never written)."""
        ...

    async def truncate(self, key: SessionKey, keep: int) -> None:
        """Drop every entry of ``key`` after the first ``keep`` (a failed turn's)."""
        ...

    async def retain(self, key: SessionKey) -> None:
        """Restart the retention period of a main transcript and its subkeys.

        Stores whose transcripts expire by themselves (Redis) refresh the expiry;
        the others, whose transcripts the index sweep deletes, do nothing.
        """
        ...


class SessionIndex(Protocol):
    """Session records and leases. Every method is atomic in the store.

    A record is *expired* once ``now >= expires_at`` and no live lease holds it;
    expired records are invisible and are replaced by the next lease.
    """

    async def acquire(
        self,
        session_id: str,
        *,
        token: str,
        claude_session_id: str,
        model: str | None,
        now: float,
        ttl_s: float,
        hold_s: float,
    ) -> Acquired | None:
        """Take the lease of ``session_id`` for ``hold_s`` seconds, or ``None`` if busy.

        A missing, expired or never-completed record is (re)created with
        ``claude_session_id``; an existing one keeps its own. Either way its
        expiry slides to ``now + ttl_s``.
        """
        ...

    async def renew(self, session_id: str, *, token: str, now: float, hold_s: float) -> bool:
        """Extend a held lease; false if ``token`` no longer holds it."""
        ...

    async def commit(
        self, session_id: str, *, token: str, model: str | None, now: float, ttl_s: float
    ) -> SessionRecord | None:
        """Count one completed turn; ``None`` if ``token`` no longer holds the lease."""
        ...

    async def release(self, session_id: str, *, token: str, discard: bool, now: float) -> None:
        """Give the lease up; with ``discard`` also remove the record (a failed first turn)."""
        ...

    async def get(self, session_id: str, *, now: float) -> SessionRecord | None:
        """The live record of ``session_id``, or ``None``."""
        ...

    async def lease_holder(self, session_id: str, *, now: float) -> str | None:
        """The token of the live lease on ``session_id``, or ``None``."""
        ...

    async def records(self, *, now: float) -> list[SessionRecord]:
        """Every live record, oldest first."""
        ...

    async def delete(self, session_id: str, *, now: float) -> SessionRecord | None:
        """Remove the record (live or expired) and return it; ``None`` if there was none.

        Raises:
            SessionBusyError: a live lease holds the session.
        """
        ...

    async def purge(self, *, now: float) -> list[str]:
        """Remove expired records; returns their CLI session ids (transcripts to delete)."""
        ...

    async def stats(self, *, now: float) -> SessionStats:
        """Counts over every record."""
        ...


class SessionBusyError(Exception):
    """The session's lease is held by another turn (the index's own signal)."""
