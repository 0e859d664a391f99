"""Opening each session backend in tests, several managers sharing one store."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import coredis

from wrapper.sessions.memory_index import MemorySessionIndex
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore
from wrapper.sessions.protocols import SessionIndex, TranscriptStore
from wrapper.sessions.redis_index import RedisSessionIndex
from wrapper.sessions.redis_keys import Keyspace
from wrapper.sessions.redis_transcripts import RedisTranscriptStore
from wrapper.sessions.service import SessionManager
from wrapper.sessions.sqlite_db import SqliteDatabase
from wrapper.sessions.sqlite_index import SqliteSessionIndex
from wrapper.sessions.sqlite_transcripts import SqliteTranscriptStore

KINDS = ["memory", "sqlite", "redis"]


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Pair = tuple[SessionIndex, TranscriptStore]


@asynccontextmanager
async def redis_client(url: str) -> AsyncIterator[coredis.Redis[bytes]]:
    client: coredis.Redis[bytes] = coredis.Redis.from_url(url, decode_responses=False)
    async with client:
        yield client


@asynccontextmanager
async def shared_store(
    kind: str, tmp_path: Path, redis_url: str | None, *, ttl_s: float = 3600, hold_s: float = 60
) -> AsyncIterator[Callable[[], Pair]]:
    """Yield ``connect()``: each call opens its own connections to one shared store.

    Two pairs from one ``shared_store`` behave like two replicas (or processes).
    """
    async with AsyncExitStack() as stack:
        memory: Pair = (MemorySessionIndex(), MemoryTranscriptStore())
        prefix = f"t{uuid.uuid4().hex[:12]}"
        pending: list[Pair] = []

        async def open_one() -> Pair:
            if kind == "memory":
                return memory
            if kind == "sqlite":
                database = SqliteDatabase(tmp_path / "sessions.sqlite3")
                await database.open()
                stack.push_async_callback(database.close)
                return SqliteSessionIndex(database, project_key="claude-wrapper"), (
                    SqliteTranscriptStore(database)
                )
            assert redis_url is not None
            client = await stack.enter_async_context(redis_client(redis_url))
            keys = Keyspace(prefix)
            retention = round((ttl_s + hold_s) * 1000)
            return RedisSessionIndex(client, keys), RedisTranscriptStore(
                client, keys, retention_ms=retention
            )

        for _ in range(2):
            pending.append(await open_one())

        def connect() -> Pair:
            return pending.pop(0)

        yield connect


def manager_for(
    pair: Pair, clock: FakeClock, *, ttl_s: float = 3600, hold_s: float = 60
) -> SessionManager:
    index, transcripts = pair
    return SessionManager(
        index=index, transcripts=transcripts, ttl_s=ttl_s, hold_s=hold_s, clock=clock
    )
