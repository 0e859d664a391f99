"""Usage in the session store's Redis, shared by every replica.

Keys are ``<prefix>:usage:<key>``: a hash of counters (added to atomically by one Lua
script, which also sets the key's expiry) or of readings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wrapper.usage.store import Addition

_ADD_LUA = """
local key = KEYS[1]
for i = 2, #ARGV, 2 do
  redis.call('HINCRBYFLOAT', key, ARGV[i], ARGV[i + 1])
end
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
else
  redis.call('PERSIST', key)
end
return redis.call('HGETALL', key)
"""


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class RedisUsageStore:
    """Counters and readings in Redis (``client`` is a connected ``coredis.Redis``)."""

    kind = "redis"

    def __init__(self, client: Any, prefix: str = "claude-wrapper") -> None:
        self._client = client
        self._prefix = f"{prefix}:usage:"
        self._add = client.register_script(_ADD_LUA)

    async def add(
        self, key: str, amounts: Mapping[str, float], ttl_s: float | None
    ) -> dict[str, float]:
        args: list[str | int] = [0 if ttl_s is None else max(1, int(ttl_s * 1000))]
        for name, amount in amounts.items():
            args += [name, repr(float(amount))]
        raw = await self._add(keys=[self._prefix + key], args=args)
        pairs = list(raw)
        return {_text(pairs[i]): float(_text(pairs[i + 1])) for i in range(0, len(pairs), 2)}

    async def add_many(self, additions: Sequence[Addition]) -> None:
        # One script call per key keeps each key's add atomic; a batch is a few keys.
        for key, amounts, ttl_s in additions:
            await self.add(key, amounts, ttl_s)

    async def counters(self, keys: Sequence[str]) -> list[dict[str, float]]:
        found: list[dict[str, float]] = []
        for key in keys:
            raw = await self._client.hgetall(self._prefix + key)
            found.append({_text(name): float(_text(value)) for name, value in raw.items()})
        return found

    async def put_reading(self, key: str, name: str, value: bytes) -> None:
        await self._client.hset(self._prefix + key, {name: value})

    async def readings(self, key: str) -> dict[str, bytes]:
        raw = await self._client.hgetall(self._prefix + key)
        return {
            _text(name): value if isinstance(value, bytes) else str(value).encode()
            for name, value in raw.items()
        }

    async def delete(self, keys: Sequence[str]) -> None:
        if keys:
            await self._client.delete([self._prefix + key for key in keys])
