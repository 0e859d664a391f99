"""The embedded SQLite store: durability settings, idempotency, worker threads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import cast

import anyio
import pytest

from wrapper.sessions.sdk_types import SessionKey, SessionStoreEntry
from wrapper.sessions.sqlite_db import SqliteDatabase
from wrapper.sessions.sqlite_transcripts import SqliteTranscriptStore

pytestmark = pytest.mark.anyio

KEY: SessionKey = {"project_key": "p", "session_id": "s"}


async def open_store(path: Path) -> tuple[SqliteDatabase, SqliteTranscriptStore]:
    database = SqliteDatabase(path)
    await database.open()
    return database, SqliteTranscriptStore(database)


async def test_commits_are_durable_wal_with_full_sync(tmp_path: Path) -> None:
    database, _ = await open_store(tmp_path / "s.sqlite3")
    try:
        mode, sync = await database.run(
            lambda conn: (
                conn.execute("PRAGMA journal_mode").fetchone()[0],
                conn.execute("PRAGMA synchronous").fetchone()[0],
            )
        )
        assert mode == "wal"
        assert sync == 2  # FULL: the WAL is synced at every commit
    finally:
        await database.close()


async def test_transcripts_survive_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    database, store = await open_store(path)
    # Real entries carry keys beyond the SDK's TypedDict; the store passes them through.
    entry = cast(
        SessionStoreEntry, {"type": "user", "uuid": "u1", "n": 1.5, "deep": {"a": [1, None]}}
    )
    await store.append(KEY, [entry])
    await database.close()
    database, store = await open_store(path)
    try:
        assert await store.load(KEY) == [
            {"type": "user", "uuid": "u1", "n": 1.5, "deep": {"a": [1, None]}}
        ]
    finally:
        await database.close()


async def test_entries_are_deduplicated_by_uuid_and_truncated_by_count(tmp_path: Path) -> None:
    database, store = await open_store(tmp_path / "s.sqlite3")
    try:
        await store.append(KEY, [{"type": "a", "uuid": "1"}, {"type": "marker"}])
        await store.append(KEY, [{"type": "a", "uuid": "1"}, {"type": "b", "uuid": "2"}])
        await store.append(KEY, [{"type": "marker"}])
        assert await store.count(KEY) == 4
        assert [e["type"] for e in await store.load(KEY) or []] == ["a", "marker", "b", "marker"]
        await store.truncate(KEY, 2)
        assert [e["type"] for e in await store.load(KEY) or []] == ["a", "marker"]
        await store.append(KEY, [{"type": "b", "uuid": "2"}])  # its uuid was released
        assert await store.count(KEY) == 3
        await store.truncate(KEY, 0)
        assert await store.load(KEY) is None
    finally:
        await database.close()


async def test_statements_run_off_the_event_loop(tmp_path: Path) -> None:
    """While SQLite waits for another writer's lock, the event loop keeps running."""
    path = tmp_path / "s.sqlite3"
    database, store = await open_store(path)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    loop_thread = threading.get_ident()
    seen_threads: list[int] = []
    try:
        blocker.execute("BEGIN IMMEDIATE")  # hold the write lock
        appended = anyio.Event()

        async def append() -> None:
            await store.append(KEY, [{"type": "a", "uuid": "1"}])
            appended.set()

        async with anyio.create_task_group() as group:
            group.start_soon(append)
            for _ in range(20):  # the loop runs other tasks while the append waits
                await anyio.lowlevel.checkpoint()
            assert not appended.is_set()
            seen_threads.append(await database.run(lambda conn: threading.get_ident()))
            blocker.execute("COMMIT")
            with anyio.fail_after(10):
                await appended.wait()
        assert seen_threads[0] != loop_thread
        assert await store.count(KEY) == 1
    finally:
        blocker.close()
        await database.close()


async def test_a_second_database_object_on_the_same_file_sees_every_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    first, writer = await open_store(path)
    second, reader = await open_store(path)
    try:
        for n in range(5):
            await writer.append(KEY, [{"type": "x", "uuid": str(n)}])
            assert await reader.count(KEY) == n + 1
    finally:
        await first.close()
        await second.close()


async def test_closing_waits_for_a_connection_in_use_and_later_calls_fail(tmp_path: Path) -> None:
    """Shutdown can close the database while a background read is in a worker thread."""
    database, _ = await open_store(tmp_path / "s.sqlite3")
    in_call = threading.Event()
    release = threading.Event()

    def slow_read(conn: sqlite3.Connection) -> int:
        in_call.set()
        release.wait(10)
        return int(conn.execute("SELECT 1").fetchone()[0])

    results: list[int] = []

    async def read() -> None:
        results.append(await database.run(slow_read))

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        await anyio.to_thread.run_sync(in_call.wait, 10)
        await database.close()  # the reading thread still holds its connection
        release.set()
    assert results == [1]
    with pytest.raises(sqlite3.Error, match="closed"):
        await database.run(lambda conn: conn.execute("SELECT 1").fetchone())
