"""``SESSION_STORE_URL``: choosing, opening and closing the session backend.

* unset (or empty): an embedded SQLite file, ``DATA_DIR/sessions.sqlite3``;
* ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``: that file;
* ``redis://[[user]:password@]host:port/db`` (also ``rediss://`` for TLS and
  ``unix:///path/to/redis.sock?db=0``), with an optional ``prefix=`` query
  parameter for the key prefix (default ``claude-wrapper``): a shared Redis;
* ``memory://``: in-process memory (tests only: nothing is shared or kept).
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import msgspec

from wrapper.config import ConfigError, Settings
from wrapper.logging import get_logger
from wrapper.sessions.host import run_hosted
from wrapper.sessions.memory_index import MemorySessionIndex
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore
from wrapper.sessions.protocols import Clock
from wrapper.sessions.service import PROJECT_KEY, SessionManager
from wrapper.sessions.sqlite_db import SqliteDatabase
from wrapper.sessions.sqlite_index import SqliteSessionIndex
from wrapper.sessions.sqlite_transcripts import SqliteTranscriptStore

log = get_logger(__name__)

SQLITE_FILE = "sessions.sqlite3"
DEFAULT_PREFIX = "claude-wrapper"
SWEEP_INTERVAL_S = 60.0
LEASE_GRACE_S = 60.0
"""How long a turn's lease outlives MAX_TIMEOUT (spawn, resume and cleanup time)."""

_REDIS_SCHEMES = ("redis", "rediss", "unix")
_CONNECT_TIMEOUT_S = 10.0


class StoreSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What ``SESSION_STORE_URL`` asks for."""

    kind: Literal["sqlite", "redis", "memory"]
    path: str = ""
    url: str = ""
    prefix: str = DEFAULT_PREFIX

    def describe(self) -> str:
        """The store for logs, without credentials."""
        if self.kind == "sqlite":
            return f"sqlite:{self.path}"
        if self.kind == "memory":
            return "memory"
        parts = urlsplit(self.url)
        host = parts.hostname or parts.path
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path if parts.hostname else ''}"


def parse_store_url(url: str | None, data_dir: str) -> StoreSpec:
    """The store ``url`` names (unset: SQLite under ``data_dir``).

    Raises:
        ConfigError: the URL's scheme or shape is not supported; the message
            names ``SESSION_STORE_URL``.
    """
    text = (url or "").strip()
    if not text:
        path = Path(data_dir).expanduser() / SQLITE_FILE
        return StoreSpec(kind="sqlite", path=str(path.resolve()))
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme == "memory":
        return StoreSpec(kind="memory")
    if scheme == "sqlite":
        if not text.startswith("sqlite:///") or len(text) <= len("sqlite:///"):
            raise _bad(text, "use sqlite:///relative/path.db or sqlite:////absolute/path.db")
        path = Path(text[len("sqlite:///") :]).expanduser()
        return StoreSpec(kind="sqlite", path=str(path.resolve()))
    if scheme in _REDIS_SCHEMES:
        parts = urlsplit(text)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefixes = [value for name, value in query if name == "prefix"]
        prefix = prefixes[-1] if prefixes else DEFAULT_PREFIX
        if not prefix:
            raise _bad(text, "prefix= must not be empty")
        rest = urlencode([(name, value) for name, value in query if name != "prefix"])
        if scheme != "unix" and not parts.hostname:
            raise _bad(text, "a Redis URL needs a host, e.g. redis://127.0.0.1:6379/0")
        return StoreSpec(kind="redis", url=urlunsplit(parts._replace(query=rest)), prefix=prefix)
    raise _bad(text, "expected redis://, rediss://, unix://, sqlite:/// or memory://")


def _bad(url: str, reason: str) -> ConfigError:
    shown = urlsplit(url)._replace(netloc=urlsplit(url).hostname or "").geturl()
    return ConfigError(f"SESSION_STORE_URL={shown!r} is not valid: {reason}")


async def open_session_manager(
    settings: Settings, stack: AsyncExitStack, *, clock: Clock = time.time
) -> SessionManager:
    """The session manager for ``settings``; ``stack`` closes its store.

    For SQLite and memory it also starts the expiry sweeper, which ``stack`` stops.
    The store's resources live in a host task of their own (see
    :mod:`wrapper.sessions.host`).

    Raises:
        ConfigError: ``SESSION_STORE_URL`` is invalid, or its store cannot be
            opened or reached (the message names the variable).
    """
    spec = parse_store_url(settings.sessions.store_url, settings.data_dir)

    async def setup(resources: AsyncExitStack) -> SessionManager:
        return await _open(spec, settings, resources, clock)

    return await run_hosted(stack, setup, name=f"sessions-{spec.kind}")


async def _open(
    spec: StoreSpec, settings: Settings, stack: AsyncExitStack, clock: Clock
) -> SessionManager:
    ttl_s = float(settings.sessions.ttl_s)
    hold_s = settings.max_timeout_s + LEASE_GRACE_S
    if spec.kind == "redis":
        manager = await _open_redis(spec, stack, ttl_s=ttl_s, hold_s=hold_s, clock=clock)
    elif spec.kind == "sqlite":
        database = SqliteDatabase(Path(spec.path))
        try:
            await database.open()
        except SqliteDatabase.errors as exc:
            raise ConfigError(
                f"SESSION_STORE_URL: cannot open the SQLite store at {spec.path}: {exc}"
            ) from exc
        stack.push_async_callback(database.close)
        manager = SessionManager(
            index=SqliteSessionIndex(database, project_key=PROJECT_KEY),
            transcripts=SqliteTranscriptStore(database),
            ttl_s=ttl_s,
            hold_s=hold_s,
            clock=clock,
        )
    else:
        manager = SessionManager(
            index=MemorySessionIndex(),
            transcripts=MemoryTranscriptStore(),
            ttl_s=ttl_s,
            hold_s=hold_s,
            clock=clock,
        )
    manager.sweep_interval_s = None
    if manager.kind != "redis":
        group = await stack.enter_async_context(anyio.create_task_group())
        group.start_soon(manager.run_sweeper, SWEEP_INTERVAL_S)
        stack.callback(group.cancel_scope.cancel)
        manager.sweep_interval_s = SWEEP_INTERVAL_S
    log.info("sessions.store_opened", store=spec.describe(), ttl_s=ttl_s)
    return manager


async def _open_redis(
    spec: StoreSpec, stack: AsyncExitStack, *, ttl_s: float, hold_s: float, clock: Clock
) -> SessionManager:
    import coredis  # noqa: PLC0415 - only a Redis deployment pays for the import

    from wrapper.sessions.redis_index import RedisSessionIndex  # noqa: PLC0415
    from wrapper.sessions.redis_keys import Keyspace  # noqa: PLC0415
    from wrapper.sessions.redis_transcripts import (  # noqa: PLC0415
        REDIS_ERRORS,
        RedisTranscriptStore,
    )

    client: coredis.Redis[bytes] = coredis.Redis.from_url(
        spec.url, decode_responses=False, connect_timeout=_CONNECT_TIMEOUT_S
    )
    unreachable: tuple[type[Exception], ...] = (*REDIS_ERRORS, TimeoutError)
    attempt = AsyncExitStack()
    await attempt.enter_async_context(client)
    try:
        with anyio.fail_after(_CONNECT_TIMEOUT_S):
            await client.ping()
    except unreachable as exc:
        # coredis also re-raises the failed connection when its client closes.
        with suppress(Exception):
            await attempt.aclose()
        raise ConfigError(
            f"SESSION_STORE_URL: cannot reach Redis at {spec.describe()}: {type(exc).__name__}"
        ) from None
    stack.push_async_exit(attempt.pop_all())
    keys = Keyspace(spec.prefix)
    return SessionManager(
        index=RedisSessionIndex(client, keys),
        transcripts=RedisTranscriptStore(client, keys, retention_ms=round((ttl_s + hold_s) * 1000)),
        ttl_s=ttl_s,
        hold_s=hold_s,
        clock=clock,
    )
