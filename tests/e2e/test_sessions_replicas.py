"""Two real servers (asyncio and trio workers) sharing one Redis: one session index.

The sessions are written by a third party (a SessionManager on the same Redis,
standing in for a replica's turn); both servers list, read and delete them, and
both shut down cleanly on SIGTERM with their Redis client open.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator

import anyio
import httpx
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream
from tests.redis_server import RedisServer
from tests.unit.sessions.backends import redis_client
from wrapper.sessions.redis_index import RedisSessionIndex
from wrapper.sessions.redis_keys import Keyspace
from wrapper.sessions.redis_transcripts import RedisTranscriptStore
from wrapper.sessions.service import SessionManager

pytestmark = pytest.mark.e2e

KEY = "sk-replicas"
AUTH = {"authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def replicas(
    upstream: FakeUpstream, redis_server: RedisServer, prefix: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {"SESSION_STORE_URL": f"{redis_server.url}?prefix={prefix}", "API_KEY": KEY}
    with (
        ServerProcess(upstream.url, env=env) as a,
        ServerProcess(upstream.url, env=env, worker_class="trio") as b,
    ):
        yield a, b


def write_session(redis_url: str, prefix: str, session_id: str) -> None:
    async def main() -> None:
        async with redis_client(redis_url) as client:
            keys = Keyspace(prefix)
            manager = SessionManager(
                index=RedisSessionIndex(client, keys),
                transcripts=RedisTranscriptStore(client, keys, retention_ms=3_600_000),
                ttl_s=3600,
                hold_s=60,
            )
            async with manager.lease(session_id, model="claude-sonnet-4-6") as lease:
                await lease.commit(model="claude-sonnet-4-6")

    anyio.run(main)


def test_every_replica_sees_and_deletes_the_same_sessions(
    replicas: tuple[ServerProcess, ServerProcess], redis_server: RedisServer, prefix: str
) -> None:
    a, b = replicas
    session = f"shared-{uuid.uuid4().hex[:8]}"
    write_session(redis_server.url, prefix, session)
    for server in (a, b):
        listed = httpx.get(f"{server.url}/v1/sessions", headers=AUTH).json()
        assert session in [s["session_id"] for s in listed["sessions"]]
        got = httpx.get(f"{server.url}/v1/sessions/{session}", headers=AUTH)
        assert got.status_code == 200
        assert got.json()["model"] == "claude-sonnet-4-6"
        stats = httpx.get(f"{server.url}/v1/sessions/stats", headers=AUTH).json()
        assert stats["store"] == "redis"
        assert stats["cleanup_interval_minutes"] is None
    assert httpx.delete(f"{a.url}/v1/sessions/{session}", headers=AUTH).status_code == 200
    missing = httpx.get(f"{b.url}/v1/sessions/{session}", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "session_not_found"
    assert httpx.get(f"{b.url}/v1/sessions", headers=AUTH).status_code == 200
    assert httpx.get(f"{b.url}/v1/sessions").status_code == 401


def test_replicas_shut_down_cleanly(replicas: tuple[ServerProcess, ServerProcess]) -> None:
    for server in replicas:
        assert server.stop(signal.SIGTERM) == 0, server.log()[-3000:]
        assert "sessions.host_close_failed" not in server.log()
        assert "Traceback" not in server.log(), server.log()[-3000:]
