"""Transcripts in the embedded SQLite database (the default ``SessionStore``).

Each entry is one row, kept in append order by a global sequence number and
stored as the JSON the SDK handed over. An entry's ``uuid`` is an idempotency
key: a retried batch that partly landed before is not stored twice. A key
exists (``load`` returns a list) once something was appended to it.
"""

from __future__ import annotations

import sqlite3
import time

import msgspec

from wrapper.sessions.sdk_types import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
)
from wrapper.sessions.sqlite_db import SqliteDatabase

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder()

_Slot = tuple[str, str, str]


def _slot(key: SessionKey) -> _Slot:
    return key["project_key"], key["session_id"], key.get("subpath") or ""


class SqliteTranscriptStore(SessionStore):
    """The SDK's ``SessionStore`` over :class:`SqliteDatabase`."""

    # Summaries are not kept (nothing here lists sessions through the SDK): the
    # protocol's own default marks the optional method as absent, for the SDK and
    # for its conformance suite alike.
    list_session_summaries = SessionStore.list_session_summaries

    kind = "sqlite"
    errors: tuple[type[Exception], ...] = SqliteDatabase.errors

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        if not entries:
            return
        slot = _slot(key)
        rows = [
            (*slot, uuid if isinstance(uuid := entry.get("uuid"), str) else None, blob)
            for entry in entries
            for blob in (_ENCODER.encode(entry),)
        ]
        mtime = int(time.time() * 1000)

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR IGNORE INTO transcript_entries"
                " (project_key, session_id, subpath, uuid, entry) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute(
                "INSERT INTO transcripts (project_key, session_id, subpath, mtime_ms)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (project_key, session_id, subpath) DO UPDATE SET"
                " mtime_ms = max(excluded.mtime_ms, transcripts.mtime_ms + 1)",
                (*slot, mtime),
            )

        await self._db.transact(work)

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        slot = _slot(key)

        def work(conn: sqlite3.Connection) -> list[bytes] | None:
            conn.execute("BEGIN")
            try:
                known = conn.execute(
                    "SELECT 1 FROM transcripts"
                    " WHERE project_key = ? AND session_id = ? AND subpath = ?",
                    slot,
                ).fetchone()
                if known is None:
                    return None
                return [
                    row[0]
                    for row in conn.execute(
                        "SELECT entry FROM transcript_entries"
                        " WHERE project_key = ? AND session_id = ? AND subpath = ?"
                        " ORDER BY seq",
                        slot,
                    )
                ]
            finally:
                conn.execute("COMMIT")

        blobs = await self._db.run(work)
        if blobs is None:
            return None
        return [_DECODER.decode(blob) for blob in blobs]

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        def work(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            return conn.execute(
                "SELECT session_id, mtime_ms FROM transcripts"
                " WHERE project_key = ? AND subpath = ''",
                (project_key,),
            ).fetchall()

        rows = await self._db.run(work)
        return [{"session_id": session_id, "mtime": mtime} for session_id, mtime in rows]

    async def delete(self, key: SessionKey) -> None:
        project_key, session_id, subpath = _slot(key)

        def work(conn: sqlite3.Connection) -> None:
            for table in ("transcript_entries", "transcripts"):
                if subpath:
                    conn.execute(
                        f"DELETE FROM {table}"  # noqa: S608 - table names are constants
                        " WHERE project_key = ? AND session_id = ? AND subpath = ?",
                        (project_key, session_id, subpath),
                    )
                else:
                    conn.execute(
                        f"DELETE FROM {table}"  # noqa: S608 - table names are constants
                        " WHERE project_key = ? AND session_id = ?",
                        (project_key, session_id),
                    )

        await self._db.transact(work)

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        def work(conn: sqlite3.Connection) -> list[tuple[str]]:
            return conn.execute(
                "SELECT subpath FROM transcripts"
                " WHERE project_key = ? AND session_id = ? AND subpath != ''"
                " ORDER BY subpath",
                (key["project_key"], key["session_id"]),
            ).fetchall()

        return [subpath for (subpath,) in await self._db.run(work)]

    async def count(self, key: SessionKey) -> int:
        slot = _slot(key)

        def work(conn: sqlite3.Connection) -> int:
            (total,) = conn.execute(
                "SELECT count(*) FROM transcript_entries"
                " WHERE project_key = ? AND session_id = ? AND subpath = ?",
                slot,
            ).fetchone()
            return int(total)

        return await self._db.run(work)

    async def truncate(self, key: SessionKey, keep: int) -> None:
        slot = _slot(key)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM transcript_entries WHERE seq IN ("
                " SELECT seq FROM transcript_entries"
                " WHERE project_key = ? AND session_id = ? AND subpath = ?"
                " ORDER BY seq LIMIT -1 OFFSET ?)",
                (*slot, keep),
            )
            if keep == 0:
                conn.execute(
                    "DELETE FROM transcripts"
                    " WHERE project_key = ? AND session_id = ? AND subpath = ?",
                    slot,
                )

        await self._db.transact(work)

    async def retain(self, key: SessionKey) -> None:
        return None
