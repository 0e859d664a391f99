"""The session index in Redis, shared by every replica.

A record is a hash with a ``PEXPIRE``: Redis deletes an expired session for every
replica at once. The lease is its own key, taken with ``SET NX PX`` and a random
token, and only ever released or extended by a script that checks the token, so
a replica whose lease ran out cannot free or extend another's. A sorted set of
session ids scored by expiry serves listing and stats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import coredis
from coredis import PureToken

from wrapper.sessions.protocols import SessionBusyError
from wrapper.sessions.records import Acquired, SessionRecord, SessionStats
from wrapper.sessions.redis_keys import Keyspace
from wrapper.sessions.redis_scripts import ACQUIRE, COMMIT, DELETE, RELEASE, RENEW
from wrapper.sessions.redis_transcripts import REDIS_ERRORS


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _fields(flat: Sequence[Any] | dict[Any, Any]) -> dict[str, str]:
    if isinstance(flat, dict):
        return {_text(key): _text(value) for key, value in flat.items()}
    return {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def _record(session_id: str, fields: dict[str, str], *, leased: bool) -> SessionRecord:
    return SessionRecord(
        session_id=session_id,
        claude_session_id=fields["claude"],
        created_at=int(fields["created"]) / 1000,
        last_active=int(fields["last"]) / 1000,
        turn_count=int(fields["turns"]),
        model=fields.get("model") or None,
        expires_at=int(fields["expires"]) / 1000,
        leased=leased,
    )


class RedisSessionIndex:
    """:class:`~wrapper.sessions.protocols.SessionIndex` over Redis."""

    kind = "redis"
    errors: tuple[type[Exception], ...] = REDIS_ERRORS

    def __init__(self, client: coredis.Redis[bytes], keys: Keyspace) -> None:
        self._client = client
        self._keys = keys
        self._acquire = client.register_script(ACQUIRE)
        self._renew = client.register_script(RENEW)
        self._commit = client.register_script(COMMIT)
        self._release = client.register_script(RELEASE)
        self._delete = client.register_script(DELETE)

    def _triple(self, session_id: str) -> list[str]:
        return [self._keys.lease(session_id), self._keys.record(session_id), self._keys.index()]

    async def acquire(
        self,
        session_id: str,
        *,
        token: str,
        claude_session_id: str,
        model: str | None,
        now: float,
        ttl_s: float,
        hold_s: float,
    ) -> Acquired | None:
        reply: Any = await self._acquire(
            self._triple(session_id),
            [token, _ms(hold_s), _ms(now), _ms(ttl_s), claude_session_id, model or "", session_id],
        )
        if not reply:
            return None
        created, replaced, flat = reply
        return Acquired(
            record=_record(session_id, _fields(flat), leased=True),
            created=int(created) == 1,
            replaced=_text(replaced) or None,
        )

    async def renew(self, session_id: str, *, token: str, now: float, hold_s: float) -> bool:
        keys = [self._keys.lease(session_id), self._keys.record(session_id)]
        return int(await self._renew(keys, [token, _ms(hold_s)])) == 1

    async def commit(
        self, session_id: str, *, token: str, model: str | None, now: float, ttl_s: float
    ) -> SessionRecord | None:
        reply: Any = await self._commit(
            self._triple(session_id),
            [token, _ms(now), _ms(ttl_s), model or "", session_id],
        )
        if not reply:
            return None
        return _record(session_id, _fields(reply), leased=True)

    async def release(self, session_id: str, *, token: str, discard: bool, now: float) -> None:
        await self._release(
            self._triple(session_id), [token, "1" if discard else "0", session_id, _ms(now)]
        )

    async def _load(self, session_ids: Sequence[str]) -> list[tuple[str, dict[str, str], bool]]:
        async with self._client.pipeline(transaction=False) as pipe:
            requests = [
                (pipe.hgetall(self._keys.record(sid)), pipe.exists([self._keys.lease(sid)]))
                for sid in session_ids
            ]
        found = []
        for session_id, (record, lease) in zip(session_ids, requests, strict=True):
            fields = _fields(await record)
            if fields:
                found.append((session_id, fields, bool(await lease)))
        return found

    async def lease_holder(self, session_id: str, *, now: float) -> str | None:
        token = await self._client.get(self._keys.lease(session_id))
        return _text(token) if token is not None else None

    async def get(self, session_id: str, *, now: float) -> SessionRecord | None:
        for sid, fields, leased in await self._load([session_id]):
            if leased or int(fields["expires"]) > _ms(now):
                return _record(sid, fields, leased=leased)
        return None

    async def records(self, *, now: float) -> list[SessionRecord]:
        members = await self._client.zrange(
            self._keys.index(), _ms(now) + 1, "+inf", sortby=PureToken.BYSCORE
        )
        found = [
            _record(sid, fields, leased=leased)
            for sid, fields, leased in await self._load([_text(m) for m in members])
            if leased or int(fields["expires"]) > _ms(now)
        ]
        found.sort(key=lambda record: (record.created_at, record.session_id))
        return found

    async def delete(self, session_id: str, *, now: float) -> SessionRecord | None:
        outcome: Any = await self._delete(self._triple(session_id), [session_id])
        busy, flat = outcome
        if int(busy) == 1:
            raise SessionBusyError(session_id)
        fields = _fields(flat)
        return _record(session_id, fields, leased=False) if fields else None

    async def purge(self, *, now: float) -> list[str]:
        # Records and transcripts expire by themselves; only the listing set needs pruning.
        await self._client.zremrangebyscore(self._keys.index(), float("-inf"), _ms(now))
        return []

    async def stats(self, *, now: float) -> SessionStats:
        live = await self.records(now=now)
        expired = await self._client.zcount(self._keys.index(), "-inf", _ms(now))
        return SessionStats(
            active_sessions=len(live),
            busy_sessions=sum(1 for record in live if record.leased),
            expired_sessions=expired,
            total_turns=sum(record.turn_count for record in live),
        )
