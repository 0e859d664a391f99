"""Shared fixtures: the fake upstream (one per session) and anyio backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_upstream import FakeUpstream
from tests.redis_server import RedisServer, require_redis_server


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port (skips locally, fails on CI, if missing)."""
    with RedisServer(require_redis_server()) as server:
        yield server
