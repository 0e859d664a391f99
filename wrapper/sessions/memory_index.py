"""``memory://``: the session index in this process's memory (tests only).

Two managers given the same :class:`MemorySessionIndex` behave like two replicas
sharing a store, which is how the lease tests use it.
"""

from __future__ import annotations

import msgspec

from wrapper.sessions.protocols import SessionBusyError
from wrapper.sessions.records import Acquired, SessionRecord, SessionStats


class _Row(msgspec.Struct, kw_only=True):
    record: SessionRecord
    token: str | None = None
    lease_until: float = 0.0


class MemorySessionIndex:
    """Records and leases in a dict. Each method runs without an await, so atomically."""

    kind = "memory"
    errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}

    def _leased(self, row: _Row, now: float) -> bool:
        return row.token is not None and row.lease_until > now

    def _live(self, row: _Row, now: float) -> bool:
        return self._leased(row, now) or row.record.expires_at > now

    def _view(self, row: _Row, now: float) -> SessionRecord:
        return msgspec.structs.replace(row.record, leased=self._leased(row, now))

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
        row = self._rows.get(session_id)
        if row is not None and self._leased(row, now):
            return None
        replaced: str | None = None
        if row is None or not self._live(row, now) or row.record.turn_count == 0:
            replaced = row.record.claude_session_id if row is not None else None
            record = SessionRecord(
                session_id=session_id,
                claude_session_id=claude_session_id,
                created_at=now,
                last_active=now,
                turn_count=0,
                model=model,
                expires_at=now + ttl_s,
            )
            created = True
        else:
            record = msgspec.structs.replace(row.record, expires_at=now + ttl_s)
            created = False
        self._rows[session_id] = _Row(record=record, token=token, lease_until=now + hold_s)
        return Acquired(
            record=msgspec.structs.replace(record, leased=True), created=created, replaced=replaced
        )

    async def renew(self, session_id: str, *, token: str, now: float, hold_s: float) -> bool:
        row = self._rows.get(session_id)
        if row is None or row.token != token:
            return False
        row.lease_until = now + hold_s
        return True

    async def commit(
        self, session_id: str, *, token: str, model: str | None, now: float, ttl_s: float
    ) -> SessionRecord | None:
        row = self._rows.get(session_id)
        if row is None or row.token != token:
            return None
        row.record = msgspec.structs.replace(
            row.record,
            turn_count=row.record.turn_count + 1,
            last_active=now,
            model=model or row.record.model,
            expires_at=now + ttl_s,
        )
        return self._view(row, now)

    async def release(self, session_id: str, *, token: str, discard: bool, now: float) -> None:
        row = self._rows.get(session_id)
        if row is None or row.token != token:
            return
        if discard:
            del self._rows[session_id]
        else:
            row.token = None
            row.lease_until = 0.0

    async def lease_holder(self, session_id: str, *, now: float) -> str | None:
        row = self._rows.get(session_id)
        return row.token if row is not None and self._leased(row, now) else None

    async def get(self, session_id: str, *, now: float) -> SessionRecord | None:
        row = self._rows.get(session_id)
        if row is None or not self._live(row, now):
            return None
        return self._view(row, now)

    async def records(self, *, now: float) -> list[SessionRecord]:
        rows = [row for row in self._rows.values() if self._live(row, now)]
        rows.sort(key=lambda row: (row.record.created_at, row.record.session_id))
        return [self._view(row, now) for row in rows]

    async def delete(self, session_id: str, *, now: float) -> SessionRecord | None:
        row = self._rows.get(session_id)
        if row is None:
            return None
        if self._leased(row, now):
            raise SessionBusyError(session_id)
        del self._rows[session_id]
        return row.record

    async def purge(self, *, now: float) -> list[str]:
        doomed = [
            session_id
            for session_id, row in self._rows.items()
            if not self._leased(row, now)
            and (row.record.expires_at <= now or row.record.turn_count == 0)
        ]
        return [self._rows.pop(session_id).record.claude_session_id for session_id in doomed]

    async def stats(self, *, now: float) -> SessionStats:
        live = [row for row in self._rows.values() if self._live(row, now)]
        return SessionStats(
            active_sessions=len(live),
            busy_sessions=sum(1 for row in live if self._leased(row, now)),
            expired_sessions=len(self._rows) - len(live),
            total_turns=sum(row.record.turn_count for row in live),
        )
