"""Transcripts in Redis: one list of JSON entries per key, shared by every replica.

An entry's ``uuid`` is an idempotency key (a set per transcript), checked and
written in one Lua script with the append itself. Each append restarts the
transcript's retention (``PEXPIRE``): Redis drops a transcript by itself once its
session has expired, so no replica has to sweep. ``list_sessions`` needs its own
index (Redis has no modification time): a sorted set per project key.
"""

from __future__ import annotations

import time

import coredis
import coredis.exceptions
import msgspec

from wrapper.sessions.redis_keys import Keyspace
from wrapper.sessions.redis_scripts import APPEND, TRUNCATE
from wrapper.sessions.sdk_types import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
)

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder()

REDIS_ERRORS: tuple[type[Exception], ...] = (coredis.exceptions.RedisError, OSError)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisTranscriptStore(SessionStore):
    """The SDK's ``SessionStore`` over Redis (a coredis client, asyncio or trio)."""

    # Summaries are not kept (nothing here lists sessions through the SDK): the
    # protocol's own default marks the optional method as absent, for the SDK and
    # for its conformance suite alike.
    list_session_summaries = SessionStore.list_session_summaries

    kind = "redis"
    errors: tuple[type[Exception], ...] = REDIS_ERRORS

    def __init__(
        self, client: coredis.Redis[bytes], keys: Keyspace, *, retention_ms: int = 0
    ) -> None:
        self._client = client
        self._keys = keys
        self._retention_ms = retention_ms
        self._append = client.register_script(APPEND)
        self._truncate = client.register_script(TRUNCATE)

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        if not entries:
            return
        subpath = key.get("subpath") or ""
        registry = (
            self._keys.subkeys(key["project_key"], key["session_id"])
            if subpath
            else self._keys.projects(key["project_key"])
        )
        args: list[str | bytes | int] = [
            int(time.time() * 1000),
            self._retention_ms,
            "1" if subpath else "0",
            subpath or key["session_id"],
        ]
        for entry in entries:
            uuid = entry.get("uuid")
            args += [uuid if isinstance(uuid, str) else "", _ENCODER.encode(entry)]
        await self._append([self._keys.entries(key), self._keys.uuids(key), registry], args)

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        raw = await self._client.lrange(self._keys.entries(key), 0, -1)
        if not raw:
            return None
        return [_DECODER.decode(item) for item in raw]

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        registry = self._keys.projects(project_key)
        scored = await self._client.zrange(registry, 0, -1, withscores=True)
        found: list[SessionStoreListEntry] = []
        gone: list[str] = []
        for member, score in scored:
            session_id = _text(member)
            entries_key = self._keys.entries({"project_key": project_key, "session_id": session_id})
            if await self._client.exists([entries_key]):
                found.append({"session_id": session_id, "mtime": int(score)})
            else:
                gone.append(session_id)
        if gone:
            await self._client.zrem(registry, gone)
        return found

    async def delete(self, key: SessionKey) -> None:
        project_key, session_id = key["project_key"], key["session_id"]
        subpath = key.get("subpath") or ""
        if subpath:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete([self._keys.entries(key), self._keys.uuids(key)])
                pipe.srem(self._keys.subkeys(project_key, session_id), [subpath])
            return
        subkeys_key = self._keys.subkeys(project_key, session_id)
        doomed = [self._keys.entries(key), self._keys.uuids(key), subkeys_key]
        for sub in await self._client.smembers(subkeys_key):
            sub_key: SessionKey = {**key, "subpath": _text(sub)}
            doomed += [self._keys.entries(sub_key), self._keys.uuids(sub_key)]
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(doomed)
            pipe.zrem(self._keys.projects(project_key), [session_id])

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        members = await self._client.smembers(
            self._keys.subkeys(key["project_key"], key["session_id"])
        )
        return sorted(_text(member) for member in members)

    async def count(self, key: SessionKey) -> int:
        return await self._client.llen(self._keys.entries(key))

    async def truncate(self, key: SessionKey, keep: int) -> None:
        await self._truncate([self._keys.entries(key), self._keys.uuids(key)], [keep])

    async def retain(self, key: SessionKey) -> None:
        if self._retention_ms <= 0:
            return
        project_key, session_id = key["project_key"], key["session_id"]
        subkeys_key = self._keys.subkeys(project_key, session_id)
        names = [self._keys.entries(key), self._keys.uuids(key), subkeys_key]
        names.append(self._keys.projects(project_key))
        for sub in await self._client.smembers(subkeys_key):
            sub_key: SessionKey = {**key, "subpath": _text(sub)}
            names += [self._keys.entries(sub_key), self._keys.uuids(sub_key)]
        async with self._client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.pexpire(name, self._retention_ms)
