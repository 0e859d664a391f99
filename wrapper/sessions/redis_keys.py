"""Key names in Redis, all under one prefix (``claude-wrapper`` unless configured).

Transcript keys are built from the SDK's (project key, session id, subpath);
``%`` and ``:`` inside a part are percent-escaped so parts can never run into each
other. Index keys end with the client's session id as it is (it is the rest of
the key, so it needs no escaping).
"""

from __future__ import annotations

from wrapper.sessions.sdk_types import SessionKey


def _part(text: str) -> str:
    return text.replace("%", "%25").replace(":", "%3A")


class Keyspace:
    """Every key name this server uses in Redis."""

    def __init__(self, prefix: str = "claude-wrapper") -> None:
        self.prefix = prefix

    # -- transcripts -------------------------------------------------------------------

    def _tail(self, project_key: str, session_id: str, subpath: str = "") -> str:
        tail = f"{_part(project_key)}:{_part(session_id)}"
        return f"{tail}:{_part(subpath)}" if subpath else tail

    def entries(self, key: SessionKey) -> str:
        """The list of a transcript's entries (JSON), in append order."""
        tail = self._tail(key["project_key"], key["session_id"], key.get("subpath") or "")
        return f"{self.prefix}:tx:{tail}"

    def uuids(self, key: SessionKey) -> str:
        """The set of entry uuids a transcript holds (the idempotency keys)."""
        tail = self._tail(key["project_key"], key["session_id"], key.get("subpath") or "")
        return f"{self.prefix}:tx-uuids:{tail}"

    def subkeys(self, project_key: str, session_id: str) -> str:
        """The set of subpaths written under a session."""
        return f"{self.prefix}:tx-subkeys:{self._tail(project_key, session_id)}"

    def projects(self, project_key: str) -> str:
        """The sorted set of a project's main transcripts, scored by mtime (ms)."""
        return f"{self.prefix}:tx-sessions:{_part(project_key)}"

    # -- index -------------------------------------------------------------------------

    def record(self, session_id: str) -> str:
        """The hash holding a client session's record."""
        return f"{self.prefix}:session:{session_id}"

    def lease(self, session_id: str) -> str:
        """The lease of a client session: a token set with NX and PX."""
        return f"{self.prefix}:lease:{session_id}"

    def index(self) -> str:
        """The sorted set of client session ids, scored by expiry (ms)."""
        return f"{self.prefix}:sessions"
