"""SESSION_STORE_URL: parsing, opening each store, failing fast on a bad one."""

from __future__ import annotations

import gc
import socket
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from tests.redis_server import RedisServer
from wrapper.config import ConfigError, load_settings
from wrapper.sessions.factory import open_session_manager, parse_store_url


def test_unset_means_sqlite_under_data_dir(tmp_path: Path) -> None:
    spec = parse_store_url(None, str(tmp_path / "data"))
    assert spec.kind == "sqlite"
    assert spec.path == str((tmp_path / "data" / "sessions.sqlite3").resolve())
    assert parse_store_url("  ", str(tmp_path)).kind == "sqlite"


@pytest.mark.parametrize(
    ("url", "kind", "detail"),
    [
        ("memory://", "memory", ""),
        ("sqlite:////var/lib/x.db", "sqlite", "/var/lib/x.db"),
        ("redis://127.0.0.1:6379/0", "redis", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@host:6380/2?prefix=tenant-a", "redis", "redis://:pw@host:6380/2"),
        ("rediss://host:6380/0", "redis", "rediss://host:6380/0"),
    ],
)
def test_store_urls(url: str, kind: str, detail: str) -> None:
    spec = parse_store_url(url, "data")
    assert spec.kind == kind
    assert detail in (spec.path or spec.url)
    if "prefix=" in url:
        assert spec.prefix == "tenant-a"
    elif kind == "redis":
        assert spec.prefix == "claude-wrapper"


@pytest.mark.parametrize(
    "url", ["postgres://h/db", "sqlite://x.db", "redis:///0", "file:///x", "nonsense"]
)
def test_bad_urls_fail_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="SESSION_STORE_URL"):
        parse_store_url(url, "data")


def test_credentials_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as bad:
        parse_store_url("redis://user:hunter2@/0", "data")
    assert "hunter2" not in str(bad.value)


def test_ttl_is_read_from_the_environment() -> None:
    settings = load_settings({"SESSION_TTL_SECONDS": "120", "SESSION_STORE_URL": "memory://"})
    assert settings.sessions.ttl_s == 120
    assert settings.sessions.store_url == "memory://"
    assert load_settings({}).sessions.ttl_s == 3600
    with pytest.raises(ConfigError, match="SESSION_TTL_SECONDS"):
        load_settings({"SESSION_TTL_SECONDS": "0"})


@pytest.mark.anyio
async def test_the_default_store_is_sqlite_and_the_stack_closes_it(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    async with AsyncExitStack() as stack:
        manager = await open_session_manager(settings, stack)
        assert manager.kind == "sqlite"
        assert manager.sweep_interval_s == 60
        assert manager.hold_s == settings.max_timeout_s + 60
        async with manager.lease("s") as lease:
            await lease.commit()
    assert (tmp_path / "sessions.sqlite3").exists()
    async with AsyncExitStack() as stack:  # a restart on the same DATA_DIR
        manager = await open_session_manager(settings, stack)
        assert (await manager.get("s")).turn_count == 1


@pytest.mark.anyio
async def test_redis_is_opened_from_its_url(redis_server: RedisServer) -> None:
    settings = load_settings({"SESSION_STORE_URL": f"{redis_server.url}?prefix=factory-test"})
    async with AsyncExitStack() as stack:
        manager = await open_session_manager(settings, stack)
        assert manager.kind == "redis"
        assert manager.sweep_interval_s is None
        async with manager.lease("s") as lease:
            await lease.commit()
        assert (await manager.get("s")).turn_count == 1
        await manager.delete("s")


@pytest.mark.anyio
# coredis 6.9 leaves a connection's memory streams unclosed when connecting fails.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_unreachable_redis_fails_startup() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load_settings({"SESSION_STORE_URL": f"redis://127.0.0.1:{port}/0"})
    with pytest.raises(ConfigError, match="cannot reach Redis"):
        async with AsyncExitStack() as stack:
            await open_session_manager(settings, stack)
    gc.collect()  # collect the leaked streams here, where their warnings are ignored
