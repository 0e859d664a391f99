"""Client sessions that survive restarts and are shared by every replica.

A client session (``session_id``) maps to a Claude CLI session whose transcript
lives in a store through the SDK's ``SessionStore`` protocol, so any replica can
resume it. ``SESSION_STORE_URL`` picks the store (:mod:`wrapper.sessions.factory`):
embedded SQLite by default, Redis for several replicas, memory for tests. The
same store holds the session index (records, expiry, the per-session lease).
See docs/sessions.md.
"""

from __future__ import annotations

from wrapper.sessions.factory import open_session_manager, parse_store_url
from wrapper.sessions.ids import validate_session_id
from wrapper.sessions.records import SessionRecord, SessionStats
from wrapper.sessions.service import PROJECT_KEY, SessionLease, SessionManager

__all__ = [
    "PROJECT_KEY",
    "SessionLease",
    "SessionManager",
    "SessionRecord",
    "SessionStats",
    "open_session_manager",
    "parse_store_url",
    "validate_session_id",
]
