"""Usage in the embedded SQLite store (``DATA_DIR/usage.sqlite3``): it survives restarts.

Every statement runs in a worker thread, one connection per call, in WAL mode, so
several workers on one file are safe and the event loop never waits on the disk.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import anyio

from wrapper.usage.store import Addition

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    expires_at REAL,
    PRIMARY KEY (key, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readings (
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (key, name)
) WITHOUT ROWID;
"""


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _add_one(
    db: sqlite3.Connection, now: float, key: str, amounts: Mapping[str, float], ttl_s: float | None
) -> None:
    expires = None if ttl_s is None else now + ttl_s
    db.execute(
        "DELETE FROM counters WHERE key = ? AND expires_at IS NOT NULL AND expires_at <= ?",
        (key, now),
    )
    for name, amount in amounts.items():
        db.execute(
            "INSERT INTO counters (key, name, value, expires_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key, name) DO UPDATE SET value = value + excluded.value,"
            " expires_at = excluded.expires_at",
            (key, name, amount, expires),
        )
    db.execute("UPDATE counters SET expires_at = ? WHERE key = ?", (expires, key))


class SqliteUsageStore:
    """Counters and readings in one SQLite file."""

    kind = "sqlite"
    errors: tuple[type[Exception], ...] = (sqlite3.Error, OSError)

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._limiter = anyio.CapacityLimiter(2)

    async def open(self) -> None:
        """Create the file and its tables.

        Raises:
            sqlite3.Error, OSError: the file cannot be opened or written.
        """
        await anyio.to_thread.run_sync(lambda: self.path.parent.mkdir(parents=True, exist_ok=True))
        await self._run(lambda db: db.executescript(_SCHEMA))

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=15.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            db = self._connect()
            try:
                return work(db)
            finally:
                db.close()

        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    async def add(
        self, key: str, amounts: Mapping[str, float], ttl_s: float | None
    ) -> dict[str, float]:
        now = self._clock()

        def work(db: sqlite3.Connection) -> dict[str, float]:
            with _transaction(db):
                _add_one(db, now, key, amounts, ttl_s)
                rows = db.execute("SELECT name, value FROM counters WHERE key = ?", (key,))
                return dict(rows)

        return await self._run(work)

    async def add_many(self, additions: Sequence[Addition]) -> None:
        now = self._clock()

        def work(db: sqlite3.Connection) -> None:
            with _transaction(db):
                for key, amounts, ttl_s in additions:
                    _add_one(db, now, key, amounts, ttl_s)

        if additions:
            await self._run(work)

    async def counters(self, keys: Sequence[str]) -> list[dict[str, float]]:
        now = self._clock()

        def work(db: sqlite3.Connection) -> list[dict[str, float]]:
            found: list[dict[str, float]] = []
            for key in keys:
                rows = db.execute(
                    "SELECT name, value FROM counters WHERE key = ?"
                    " AND (expires_at IS NULL OR expires_at > ?)",
                    (key, now),
                )
                found.append(dict(rows))
            return found

        return await self._run(work)

    async def put_reading(self, key: str, name: str, value: bytes) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO readings (key, name, value) VALUES (?, ?, ?)"
                " ON CONFLICT (key, name) DO UPDATE SET value = excluded.value",
                (key, name, value),
            )
        )

    async def readings(self, key: str) -> dict[str, bytes]:
        def work(db: sqlite3.Connection) -> dict[str, bytes]:
            rows = db.execute("SELECT name, value FROM readings WHERE key = ?", (key,))
            return {name: bytes(value) for name, value in rows}

        return await self._run(work)

    async def delete(self, keys: Sequence[str]) -> None:
        def work(db: sqlite3.Connection) -> None:
            for key in keys:
                db.execute("DELETE FROM counters WHERE key = ?", (key,))
                db.execute("DELETE FROM readings WHERE key = ?", (key,))

        await self._run(work)
