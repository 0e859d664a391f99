"""Rate-limit counters in the session store's Redis, when ``SESSION_STORE_URL`` names one.

Replicas that share a Redis for sessions share their rate-limit counters there
too (keys ``<prefix>:ratelimit:...``, same prefix as the sessions). The coredis
client runs in a host task of its own, like the session store's (a task group
entered at startup could not be exited by the lifespan's shielded shutdown).
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from wrapper.config import Settings
from wrapper.policy.ratelimit import RedisRateLimitStore
from wrapper.sessions.factory import parse_store_url
from wrapper.sessions.host import run_hosted

CONNECT_TIMEOUT_S = 5.0


async def open_redis_rate_store(
    settings: Settings, stack: AsyncExitStack
) -> RedisRateLimitStore | None:
    """A Redis counter store when the session store is Redis, else ``None``.

    Raises:
        ConfigError: ``SESSION_STORE_URL`` is invalid (the session store reports it first).
    """
    spec = parse_store_url(settings.sessions.store_url, settings.data_dir)
    if spec.kind != "redis":
        return None
    import coredis  # noqa: PLC0415 - only a Redis deployment pays for the import

    async def setup(resources: AsyncExitStack) -> RedisRateLimitStore:
        client: coredis.Redis[bytes] = coredis.Redis.from_url(
            spec.url, decode_responses=False, connect_timeout=CONNECT_TIMEOUT_S
        )
        await resources.enter_async_context(client)
        return RedisRateLimitStore(client, prefix=spec.prefix)

    return await run_hosted(stack, setup, name="ratelimit-redis")
