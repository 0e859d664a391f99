"""The session index in the embedded SQLite database.

One row per client session. The lease is a token and an expiry in the row:
taking it is a single ``BEGIN IMMEDIATE`` transaction (read, check, write), so
two processes on one file can never both hold it. Expiry is lazy (reads skip
expired rows, the next lease replaces one) plus a periodic :meth:`purge`, which
also deletes transcripts no session refers to any more.
"""

from __future__ import annotations

import sqlite3

from wrapper.sessions.protocols import SessionBusyError
from wrapper.sessions.records import Acquired, SessionRecord, SessionStats
from wrapper.sessions.sqlite_db import SqliteDatabase

_COLUMNS = (
    "session_id, claude_session_id, created_at, last_active, turn_count, model, expires_at,"
    " lease_token, lease_until"
)

_ORPHAN_GRACE_S = 3600.0

_Row = tuple[str, str, float, float, int, str | None, float, str | None, float | None]


def _leased(row: _Row, now: float) -> bool:
    return row[7] is not None and (row[8] or 0.0) > now


def _live(row: _Row, now: float) -> bool:
    return _leased(row, now) or row[6] > now


def _record(row: _Row, now: float) -> SessionRecord:
    return SessionRecord(
        session_id=row[0],
        claude_session_id=row[1],
        created_at=row[2],
        last_active=row[3],
        turn_count=row[4],
        model=row[5],
        expires_at=row[6],
        leased=_leased(row, now),
    )


def _select(conn: sqlite3.Connection, session_id: str) -> _Row | None:
    row: _Row | None = conn.execute(
        f"SELECT {_COLUMNS} FROM sessions WHERE session_id = ?",  # noqa: S608 - constant
        (session_id,),
    ).fetchone()
    return row


class SqliteSessionIndex:
    """:class:`~wrapper.sessions.protocols.SessionIndex` over :class:`SqliteDatabase`."""

    kind = "sqlite"
    errors: tuple[type[Exception], ...] = SqliteDatabase.errors

    def __init__(self, database: SqliteDatabase, *, project_key: str) -> None:
        self._db = database
        self._project_key = project_key

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
        def work(conn: sqlite3.Connection) -> Acquired | None:
            row = _select(conn, session_id)
            if row is not None and _leased(row, now):
                return None
            if row is None or not _live(row, now) or row[4] == 0:
                conn.execute(
                    f"INSERT OR REPLACE INTO sessions ({_COLUMNS})"  # noqa: S608 - constant
                    " VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)",
                    (
                        session_id,
                        claude_session_id,
                        now,
                        now,
                        model,
                        now + ttl_s,
                        token,
                        now + hold_s,
                    ),
                )
                replaced = row[1] if row is not None else None
                created = True
            else:
                conn.execute(
                    "UPDATE sessions SET expires_at = ?, lease_token = ?, lease_until = ?"
                    " WHERE session_id = ?",
                    (now + ttl_s, token, now + hold_s, session_id),
                )
                replaced = None
                created = False
            fresh = _select(conn, session_id)
            assert fresh is not None
            return Acquired(record=_record(fresh, now), created=created, replaced=replaced)

        return await self._db.transact(work)

    async def renew(self, session_id: str, *, token: str, now: float, hold_s: float) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE sessions SET lease_until = ? WHERE session_id = ? AND lease_token = ?",
                (now + hold_s, session_id, token),
            )
            return cursor.rowcount == 1

        return await self._db.transact(work)

    async def commit(
        self, session_id: str, *, token: str, model: str | None, now: float, ttl_s: float
    ) -> SessionRecord | None:
        def work(conn: sqlite3.Connection) -> SessionRecord | None:
            cursor = conn.execute(
                "UPDATE sessions SET turn_count = turn_count + 1, last_active = ?,"
                " model = coalesce(?, model), expires_at = ?"
                " WHERE session_id = ? AND lease_token = ?",
                (now, model, now + ttl_s, session_id, token),
            )
            if cursor.rowcount != 1:
                return None
            row = _select(conn, session_id)
            return _record(row, now) if row is not None else None

        return await self._db.transact(work)

    async def release(self, session_id: str, *, token: str, discard: bool, now: float) -> None:
        def work(conn: sqlite3.Connection) -> None:
            if discard:
                conn.execute(
                    "DELETE FROM sessions WHERE session_id = ? AND lease_token = ?",
                    (session_id, token),
                )
            else:
                conn.execute(
                    "UPDATE sessions SET lease_token = NULL, lease_until = NULL"
                    " WHERE session_id = ? AND lease_token = ?",
                    (session_id, token),
                )

        await self._db.transact(work)

    async def lease_holder(self, session_id: str, *, now: float) -> str | None:
        row = await self._db.run(lambda conn: _select(conn, session_id))
        return row[7] if row is not None and _leased(row, now) else None

    async def get(self, session_id: str, *, now: float) -> SessionRecord | None:
        row = await self._db.run(lambda conn: _select(conn, session_id))
        if row is None or not _live(row, now):
            return None
        return _record(row, now)

    async def records(self, *, now: float) -> list[SessionRecord]:
        def work(conn: sqlite3.Connection) -> list[_Row]:
            return conn.execute(
                f"SELECT {_COLUMNS} FROM sessions"  # noqa: S608 - constant
                " WHERE expires_at > ? OR lease_until > ?"
                " ORDER BY created_at, session_id",
                (now, now),
            ).fetchall()

        return [_record(row, now) for row in await self._db.run(work) if _live(row, now)]

    async def delete(self, session_id: str, *, now: float) -> SessionRecord | None:
        def work(conn: sqlite3.Connection) -> SessionRecord | None:
            row = _select(conn, session_id)
            if row is None:
                return None
            if _leased(row, now):
                raise SessionBusyError(session_id)
            conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
            return _record(row, now)

        return await self._db.transact(work)

    async def purge(self, *, now: float) -> list[str]:
        """Remove expired records (returning their CLI session ids), and orphans.

        Orphans are transcripts of this server's project that no record refers
        to, untouched for an hour: what a crash between deleting a record and
        deleting its transcript leaves behind.
        """
        orphan_cutoff_ms = round((now - _ORPHAN_GRACE_S) * 1000)

        def work(conn: sqlite3.Connection) -> list[str]:
            doomed = conn.execute(
                "SELECT session_id, claude_session_id FROM sessions"
                " WHERE (expires_at <= ? OR turn_count = 0)"
                " AND (lease_token IS NULL OR lease_until <= ?)",
                (now, now),
            ).fetchall()
            conn.executemany(
                "DELETE FROM sessions WHERE session_id = ?", [(row[0],) for row in doomed]
            )
            orphans = conn.execute(
                "SELECT session_id FROM transcripts"
                " WHERE project_key = ? AND subpath = '' AND mtime_ms < ?"
                " AND session_id NOT IN (SELECT claude_session_id FROM sessions)",
                (self._project_key, orphan_cutoff_ms),
            ).fetchall()
            for (claude_session_id,) in orphans:
                for table in ("transcript_entries", "transcripts"):
                    conn.execute(
                        f"DELETE FROM {table}"  # noqa: S608 - table names are constants
                        " WHERE project_key = ? AND session_id = ?",
                        (self._project_key, claude_session_id),
                    )
            return [row[1] for row in doomed]

        return await self._db.transact(work)

    async def stats(self, *, now: float) -> SessionStats:
        def work(conn: sqlite3.Connection) -> tuple[int, int, int, int | None]:
            row: tuple[int, int, int, int | None] = conn.execute(
                "SELECT"
                " count(*) FILTER (WHERE expires_at > ?1 OR lease_until > ?1),"
                " count(*) FILTER (WHERE lease_token IS NOT NULL AND lease_until > ?1),"
                " count(*) FILTER (WHERE expires_at <= ?1 AND coalesce(lease_until, 0) <= ?1),"
                " sum(turn_count) FILTER (WHERE expires_at > ?1 OR lease_until > ?1)"
                " FROM sessions",
                (now,),
            ).fetchone()
            return row

        active, busy, expired, turns = await self._db.run(work)
        return SessionStats(
            active_sessions=active,
            busy_sessions=busy,
            expired_sessions=expired,
            total_turns=turns or 0,
        )
