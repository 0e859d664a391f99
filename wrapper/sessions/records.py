"""What the session index holds about a session, and what it reports."""

from __future__ import annotations

import msgspec


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One client session as the index knows it. Times are Unix epoch seconds.

    ``claude_session_id`` is the CLI's own session id (a UUID) that holds this
    session's transcript in the store; the client never sees it.
    """

    session_id: str
    claude_session_id: str
    created_at: float
    last_active: float
    turn_count: int
    model: str | None
    expires_at: float
    leased: bool = False


class Acquired(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of taking a session's lease.

    ``created`` is true when the record was started afresh for this turn (it did
    not exist, had expired, or never completed a turn); ``replaced`` then names
    the CLI session id of the record it replaced, whose transcript is garbage.
    """

    record: SessionRecord
    created: bool
    replaced: str | None = None


class SessionStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counts over the whole index (every replica's sessions)."""

    active_sessions: int
    busy_sessions: int
    expired_sessions: int
    total_turns: int
