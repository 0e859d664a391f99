"""Opening the usage store: the session store's Redis when it is one, else a SQLite file.

With ``SESSION_STORE_URL`` a Redis, replicas share usage there (same prefix as the
sessions); with ``memory://`` usage stays in memory (tests); otherwise it is kept
in ``DATA_DIR/usage.sqlite3``, which survives restarts.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import anyio

from wrapper.config import ConfigError, Settings
from wrapper.sessions.factory import parse_store_url
from wrapper.sessions.host import run_hosted
from wrapper.usage.sqlite_store import SqliteUsageStore
from wrapper.usage.store import MemoryUsageStore, UsageStore

SQLITE_FILE = "usage.sqlite3"
_CONNECT_TIMEOUT_S = 5.0


async def open_usage_store(settings: Settings, stack: AsyncExitStack) -> UsageStore:
    """The usage store for the settings; a Redis client is closed by ``stack``.

    Raises:
        ConfigError: the SQLite file cannot be opened.
    """
    spec = parse_store_url(settings.sessions.store_url, settings.data_dir)
    if spec.kind == "memory":
        return MemoryUsageStore()
    if spec.kind == "redis":
        import coredis  # noqa: PLC0415 - only a Redis deployment pays for the import

        from wrapper.usage.redis_store import RedisUsageStore  # noqa: PLC0415

        async def setup(resources: AsyncExitStack) -> RedisUsageStore:
            client: coredis.Redis[bytes] = coredis.Redis.from_url(
                spec.url, decode_responses=False, connect_timeout=_CONNECT_TIMEOUT_S
            )
            await resources.enter_async_context(client)
            return RedisUsageStore(client, prefix=spec.prefix)

        return await run_hosted(stack, setup, name="usage-redis")
    path = await anyio.to_thread.run_sync(_sqlite_path, settings.data_dir)
    store = SqliteUsageStore(path)
    try:
        await store.open()
    except SqliteUsageStore.errors as exc:
        raise ConfigError(f"cannot open the usage store {str(path)!r}: {exc}") from None
    return store


def _sqlite_path(data_dir: str) -> Path:
    return Path(data_dir).expanduser().resolve() / SQLITE_FILE
