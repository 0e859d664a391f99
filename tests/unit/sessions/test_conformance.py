"""Every transcript store passes the SDK's own SessionStore conformance suite."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from claude_agent_sdk.testing import run_session_store_conformance

from tests.redis_server import RedisServer
from tests.unit.sessions.backends import redis_client
from wrapper.sessions.leased_store import LeasedTranscripts
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore
from wrapper.sessions.redis_keys import Keyspace
from wrapper.sessions.redis_transcripts import RedisTranscriptStore
from wrapper.sessions.sdk_types import SessionStore
from wrapper.sessions.sqlite_db import SqliteDatabase
from wrapper.sessions.sqlite_transcripts import SqliteTranscriptStore

pytestmark = pytest.mark.anyio

# What the conformance suite exercises beyond append/load (list_session_summaries is
# deliberately absent: see wrapper/sessions/sdk_types.py).
OPTIONAL = ("list_sessions", "delete", "list_subkeys")


def _implements(store: SessionStore, method: str) -> bool:
    return getattr(type(store), method) is not getattr(SessionStore, method)


async def test_sqlite_store_conforms(tmp_path: Path) -> None:
    databases: list[SqliteDatabase] = []

    async def make_store() -> SessionStore:
        database = SqliteDatabase(tmp_path / f"{uuid.uuid4().hex}.sqlite3")
        await database.open()
        databases.append(database)
        return SqliteTranscriptStore(database)

    try:
        store = await make_store()
        assert all(_implements(store, method) for method in OPTIONAL)
        await run_session_store_conformance(make_store)
    finally:
        for database in databases:
            await database.close()


async def test_redis_store_conforms(redis_server: RedisServer) -> None:
    async with redis_client(redis_server.url) as client:

        def make_store() -> SessionStore:
            return RedisTranscriptStore(client, Keyspace(f"conf-{uuid.uuid4().hex}"))

        assert all(_implements(make_store(), method) for method in OPTIONAL)
        await run_session_store_conformance(make_store)


async def test_redis_store_with_retention_conforms(redis_server: RedisServer) -> None:
    async with redis_client(redis_server.url) as client:

        def make_store() -> SessionStore:
            keys = Keyspace(f"conf-{uuid.uuid4().hex}")
            return RedisTranscriptStore(client, keys, retention_ms=3_600_000)

        await run_session_store_conformance(make_store)


async def test_memory_store_conforms() -> None:
    await run_session_store_conformance(MemoryTranscriptStore)


async def test_the_leased_view_conforms() -> None:
    """The view the SDK gets per turn is a SessionStore too (with the project pinned,
    project isolation cannot hold, so that contract is checked by pinning tests)."""
    inner = MemoryTranscriptStore()
    view = LeasedTranscripts(inner, project_key="pinned")
    await view.append({"project_key": "a", "session_id": "s"}, [{"type": "x", "uuid": "1"}])
    assert await view.load({"project_key": "b", "session_id": "s"}) == [{"type": "x", "uuid": "1"}]
    assert await inner.load({"project_key": "pinned", "session_id": "s"}) is not None
    assert [s["session_id"] for s in await view.list_sessions("anything")] == ["s"]
