"""Redis specifics: every key of a session expires by itself; keys cannot collide."""

from __future__ import annotations

import uuid
from typing import cast

import pytest

from tests.redis_server import RedisServer
from tests.unit.sessions.backends import FakeClock, redis_client
from wrapper.sessions.redis_index import RedisSessionIndex
from wrapper.sessions.redis_keys import Keyspace
from wrapper.sessions.redis_transcripts import RedisTranscriptStore
from wrapper.sessions.sdk_types import SessionKey, SessionStoreEntry, main_key
from wrapper.sessions.service import SessionManager

pytestmark = pytest.mark.anyio


async def test_every_key_of_a_session_carries_an_expiry(redis_server: RedisServer) -> None:
    prefix = f"ttl-{uuid.uuid4().hex}"
    async with redis_client(redis_server.url) as client:
        keys = Keyspace(prefix)
        manager = SessionManager(
            index=RedisSessionIndex(client, keys),
            transcripts=RedisTranscriptStore(client, keys, retention_ms=(100 + 30) * 1000),
            ttl_s=100,
            hold_s=30,
            clock=FakeClock(),
        )
        async with manager.lease("ttl-check") as lease:
            key = main_key("/cwd", lease.claude_session_id)
            await lease.store.append(key, [{"type": "user", "uuid": "1"}])
            sub: SessionKey = {**key, "subpath": "subagents/agent-1"}
            await lease.store.append(sub, [{"type": "user", "uuid": "2"}])
            await lease.commit()
        names = [name async for name in client.scan_iter(match=f"{prefix}:*")]
        assert len(names) >= 8  # record, index, entries+uuids (main, sub), subkeys, project
        for name in names:
            left = await client.pttl(name)
            assert 0 < left <= 130_000, name
        assert await client.pttl(keys.record("ttl-check")) <= 100_000  # released: exact TTL
        assert not await client.exists([keys.lease("ttl-check")])


async def test_key_parts_are_escaped(redis_server: RedisServer) -> None:
    async with redis_client(redis_server.url) as client:
        store = RedisTranscriptStore(client, Keyspace(f"esc-{uuid.uuid4().hex}"))
        one: SessionKey = {"project_key": "a:b", "session_id": "c"}
        two: SessionKey = {"project_key": "a", "session_id": "b:c"}
        # Real entries carry keys beyond the SDK's TypedDict; the store passes them through.
        await store.append(one, [cast(SessionStoreEntry, {"type": "x", "n": 1})])
        await store.append(two, [cast(SessionStoreEntry, {"type": "x", "n": 2})])
        assert await store.load(one) == [{"type": "x", "n": 1}]
        assert await store.load(two) == [{"type": "x", "n": 2}]


async def test_truncation_releases_uuids(redis_server: RedisServer) -> None:
    async with redis_client(redis_server.url) as client:
        store = RedisTranscriptStore(client, Keyspace(f"tr-{uuid.uuid4().hex}"))
        key: SessionKey = {"project_key": "p", "session_id": "s"}
        await store.append(key, [{"type": "a", "uuid": "1"}, {"type": "b", "uuid": "2"}])
        await store.append(key, [{"type": "b", "uuid": "2"}])
        assert await store.count(key) == 2
        await store.truncate(key, 1)
        await store.append(key, [{"type": "b", "uuid": "2"}])
        assert await store.load(key) == [{"type": "a", "uuid": "1"}, {"type": "b", "uuid": "2"}]
        await store.truncate(key, 0)
        assert await store.load(key) is None
