"""The embedded SQLite database behind the default session backend.

One file under ``DATA_DIR`` holds the transcripts and the session index. Every
statement runs in a worker thread through :func:`anyio.to_thread.run_sync`, so the
event loop never waits on the disk; a capacity limiter bounds those threads and a
small pool hands each thread a connection of its own for the duration of a call
(connections are never used by two threads at once).

Durability: the database runs in WAL mode with ``synchronous=FULL``, so a commit
has reached the disk when the call returns; a turn's transcript is therefore
durable before the SDK yields the turn's result. Writers take the write lock up
front (``BEGIN IMMEDIATE``) and wait up to ``busy_timeout`` for it, which also
makes several processes on one file (hypercorn workers) safe.

The file holds conversations, so it is the owner's alone (0600): it is created
so before SQLite opens it, and SQLite gives its WAL and shared-memory files the
same mode.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

import anyio

T = TypeVar("T")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transcripts (
    project_key TEXT NOT NULL,
    session_id TEXT NOT NULL,
    subpath TEXT NOT NULL,
    mtime_ms INTEGER NOT NULL,
    PRIMARY KEY (project_key, session_id, subpath)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS transcript_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project_key TEXT NOT NULL,
    session_id TEXT NOT NULL,
    subpath TEXT NOT NULL,
    uuid TEXT,
    entry BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS transcript_entries_by_key
    ON transcript_entries (project_key, session_id, subpath, seq);
CREATE UNIQUE INDEX IF NOT EXISTS transcript_entries_by_uuid
    ON transcript_entries (project_key, session_id, subpath, uuid) WHERE uuid IS NOT NULL;
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    claude_session_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_active REAL NOT NULL,
    turn_count INTEGER NOT NULL,
    model TEXT,
    expires_at REAL NOT NULL,
    lease_token TEXT,
    lease_until REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
"""


class SqliteDatabase:
    """A SQLite file, its connection pool, and the worker threads that use it."""

    kind = "sqlite"
    errors: tuple[type[Exception], ...] = (sqlite3.Error, OSError)

    def __init__(self, path: Path, *, max_threads: int = 4, busy_timeout_s: float = 15.0) -> None:
        self.path = path
        self._max_threads = max_threads
        self._busy_timeout_s = busy_timeout_s
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        self._pool_lock = threading.Lock()
        self._limiter: anyio.CapacityLimiter | None = None

    async def open(self) -> None:
        """Create the file and its schema (idempotent).

        Raises:
            sqlite3.Error: the file is not a usable database.
            OSError: its directory cannot be created.
        """
        self._limiter = anyio.CapacityLimiter(self._max_threads)
        await self.run(_create_schema)

    async def close(self) -> None:
        """Close the pooled connections; one still in use closes when its call returns.

        A connection is never closed under a thread that is using it (SQLite does not
        survive that), and calls made after this fail with ``sqlite3.Error``.
        """
        await anyio.to_thread.run_sync(self._close_all)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(connection)`` in a worker thread (autocommit mode)."""
        return await anyio.to_thread.run_sync(self._call, work, limiter=self._limiter)

    async def transact(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(connection)`` in a worker thread inside one write transaction."""
        return await anyio.to_thread.run_sync(
            self._call, lambda conn: _in_transaction(conn, work), limiter=self._limiter
        )

    # -- worker-thread side ------------------------------------------------------------

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._checkout()
        try:
            return work(connection)
        finally:
            self._checkin(connection)

    def _checkout(self) -> sqlite3.Connection:
        with self._pool_lock:
            if self._closed:
                raise sqlite3.OperationalError("the session database is closed")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _checkin(self, connection: sqlite3.Connection) -> None:
        if connection.in_transaction:  # a failed statement left one open
            connection.rollback()
        with self._pool_lock:
            if not self._closed:
                self._idle.append(connection)
                return
        connection.close()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _private_file(self.path)
        connection = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _close_all(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _in_transaction(connection: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work(connection)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


def _create_schema(connection: sqlite3.Connection) -> None:
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version >= SCHEMA_VERSION:
        return
    connection.executescript(_SCHEMA)
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _private_file(path: Path) -> None:
    """Make ``path`` exist with mode 0600 (and its WAL files, if left from before)."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        with suppress(FileNotFoundError):
            (path.parent / name).chmod(0o600)
