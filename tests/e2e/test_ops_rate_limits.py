"""Rate limits through the real server: 429 in both dialects, headers, trusted proxies.

The limit is counted before the body is read, so requests with an invalid body
(answered 400 without any CLI process) use up a client's quota cheaply; the
refused request is then made with the official clients.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import anthropic
import httpx
import openai
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream
from tests.redis_server import RedisServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def limited(upstream: FakeUpstream) -> Iterator[ServerProcess]:
    env = {
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_CHAT_PER_MINUTE": "2",
        "RATE_LIMIT_HEALTH_PER_MINUTE": "3",
        "RATE_LIMIT_PER_MINUTE": "4",
        "TRUSTED_PROXIES": "127.0.0.1",
    }
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


def via(client_address: str) -> dict[str, str]:
    """Headers of a request a trusted proxy (us, on 127.0.0.1) forwards for a client."""
    return {"x-forwarded-for": client_address}


def ratelimit_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    return (
        headers["x-ratelimit-limit"],
        headers["x-ratelimit-remaining"],
        headers["x-ratelimit-reset"],
    )


def test_openai_clients_get_429_with_the_real_wait(limited: ServerProcess) -> None:
    client = "192.0.2.10"
    first = httpx.post(f"{limited.url}/v1/chat/completions", json={}, headers=via(client))
    assert first.status_code == 400
    limit, remaining, reset = ratelimit_headers(first.headers)
    assert (limit, remaining) == ("2", "1")
    assert 59 <= int(reset) <= 60
    second = httpx.post(f"{limited.url}/v1/chat/completions", json={}, headers=via(client))
    assert ratelimit_headers(second.headers)[:2] == ("2", "0")

    sdk = openai.OpenAI(
        base_url=f"{limited.url}/v1", api_key="unused", max_retries=0, default_headers=via(client)
    )
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}]
        )
    response = caught.value.response
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert ratelimit_headers(response.headers) == ("2", "0", str(retry_after))
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == "rate_limit_error"
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert f"{retry_after} seconds" in body["error"]["message"]


def test_anthropic_clients_get_429_in_their_shape_and_share_the_chat_group(
    limited: ServerProcess,
) -> None:
    client = "192.0.2.11"
    for remaining in ("1", "0"):
        burned = httpx.post(f"{limited.url}/v1/messages", json={}, headers=via(client))
        assert burned.status_code == 400
        assert burned.headers["x-ratelimit-remaining"] == remaining

    sdk = anthropic.Anthropic(
        base_url=limited.url, api_key="unused", max_retries=0, default_headers=via(client)
    )
    with pytest.raises(anthropic.RateLimitError) as caught:
        sdk.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
        )
    response = caught.value.response
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 60
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["request_id"]
    # /v1/chat/completions is in the same group: this client is refused there too.
    chat = httpx.post(f"{limited.url}/v1/chat/completions", json={}, headers=via(client))
    assert chat.status_code == 429
    # Other groups have their own counters.
    assert httpx.get(f"{limited.url}/v1/models", headers=via(client)).status_code == 200


def test_health_group_covers_the_deep_probe(limited: ServerProcess) -> None:
    client = "192.0.2.12"
    for _ in range(3):
        assert httpx.get(f"{limited.url}/health", headers=via(client)).status_code == 200
    assert httpx.get(f"{limited.url}/version", headers=via(client)).status_code == 429
    deep = httpx.get(f"{limited.url}/healthz/deep", headers=via(client))
    assert deep.status_code == 429  # refused before any paid round trip
    assert deep.headers["x-ratelimit-limit"] == "3"


def test_forwarded_for_is_trusted_only_from_trusted_proxies(limited: ServerProcess) -> None:
    # From the trusted proxy (127.0.0.1) each forwarded client has its own counter.
    for _ in range(4):
        assert httpx.get(f"{limited.url}/v1/models", headers=via("192.0.2.20")).status_code == 200
    assert httpx.get(f"{limited.url}/v1/models", headers=via("192.0.2.20")).status_code == 429
    assert httpx.get(f"{limited.url}/v1/models", headers=via("192.0.2.21")).status_code == 200
    # A spoofed entry to the left of the proxy's own is not the client.
    spoofed = {"x-forwarded-for": "192.0.2.21, 192.0.2.20"}
    assert httpx.get(f"{limited.url}/v1/models", headers=spoofed).status_code == 429

    # From an untrusted peer (127.0.0.2) the header is ignored: one counter, whatever it says.
    untrusted = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with untrusted:
        statuses = [
            untrusted.get(f"{limited.url}/v1/models", headers=via(f"192.0.2.{30 + i}")).status_code
            for i in range(5)
        ]
    assert statuses == [200, 200, 200, 200, 429]
    assert "127.0.0.2" in limited.log()


def test_replicas_sharing_a_redis_share_their_counters(
    upstream: FakeUpstream, redis_server: RedisServer
) -> None:
    env = {
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_PER_MINUTE": "3",
        "SESSION_STORE_URL": f"{redis_server.url}?prefix=rl-e2e",
    }
    with (
        ServerProcess(upstream.url, env=env) as first,
        ServerProcess(upstream.url, env=env) as second,
    ):
        statuses = [
            httpx.get(f"{replica.url}/v1/models").status_code
            for replica in (first, second, first, second)
        ]
        assert statuses == [200, 200, 200, 429]
        refused = httpx.get(f"{first.url}/v1/models")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
