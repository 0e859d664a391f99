"""Wire shapes of ``/v1/sessions``: the existing wrapper's field names, extended.

Clients of the existing wrapper read ``session_id``, ``created_at``,
``last_accessed``, ``message_count`` and ``expires_at`` (ISO 8601 times), a list as
``{"sessions": [...], "total": n}``, stats under ``session_stats`` and a delete's
``message``; those names are kept. Added: ``object``, ``turn_count``, ``model``,
``busy``, ``deleted`` and the store's kind.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class SessionObject(msgspec.Struct, kw_only=True):
    session_id: str
    created_at: str
    last_accessed: str
    expires_at: str
    turn_count: int
    message_count: int
    """Messages in the conversation: a user message and a reply per completed turn."""
    model: str | None
    busy: bool
    object: Literal["session"] = "session"


class SessionList(msgspec.Struct, kw_only=True):
    sessions: list[SessionObject]
    total: int
    object: Literal["list"] = "list"


class SessionDeleted(msgspec.Struct, kw_only=True):
    session_id: str
    message: str
    deleted: bool = True
    object: Literal["session.deleted"] = "session.deleted"


class SessionCounts(msgspec.Struct, kw_only=True):
    active_sessions: int
    busy_sessions: int
    expired_sessions: int
    """Expired but not yet swept (SQLite) or not yet pruned from the listing (Redis)."""
    total_turns: int


class SessionStatsObject(msgspec.Struct, kw_only=True):
    session_stats: SessionCounts
    store: str
    ttl_seconds: int
    default_ttl_hours: float
    cleanup_interval_minutes: float | None
    """How often this replica sweeps expired sessions; null where the store expires them."""
    object: Literal["session.stats"] = "session.stats"
