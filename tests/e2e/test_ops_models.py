"""/v1/models through the real server: live (paginated), refresh, failure, static, override."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.harness import FAKE_KEY, ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream

pytestmark = pytest.mark.e2e


def _entry(model_id: str, name: str, created: str, **extra: Any) -> dict[str, Any]:
    return {"id": model_id, "display_name": name, "created_at": created, **extra}


LIVE: list[dict[str, Any]] = [
    _entry("claude-opus-9-1", "Claude Opus 9.1", "2031-03-01T00:00:00Z"),
    _entry("claude-sonnet-9-1", "Claude Sonnet 9.1", "2031-02-01T00:00:00Z"),
    _entry("claude-sonnet-9", "Claude Sonnet 9", "2031-01-01T00:00:00Z"),
    _entry(
        "claude-haiku-9",
        "Claude Haiku 9",
        "2030-12-01T00:00:00Z",
        max_input_tokens=200000,
        max_tokens=64000,
    ),
]


@pytest.fixture
def live_models(upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    saved = (upstream.models, upstream.models_status, upstream.models_page_size)
    upstream.models = [dict(entry) for entry in LIVE]
    upstream.models_status = 200
    upstream.models_page_size = 3
    try:
        yield upstream
    finally:
        upstream.models, upstream.models_status, upstream.models_page_size = saved


def model_requests(upstream: FakeUpstream) -> int:
    return len(upstream.recorded(path="/v1/models"))


def test_live_catalogue_refresh_and_failure(live_models: FakeUpstream) -> None:
    env = {"ANTHROPIC_MODELS_URL": f"{live_models.url}/v1/models", "ANTHROPIC_BETA": "b-1"}
    before = model_requests(live_models)
    with ServerProcess(live_models.url, env=env) as server:
        # Fetched once at startup, all pages, with the Anthropic headers.
        fetched = live_models.recorded(path="/v1/models")[before:]
        assert len(fetched) == 2
        assert "after_id=claude-sonnet-9" in fetched[1].query
        assert fetched[0].headers["x-api-key"] == FAKE_KEY
        assert fetched[0].headers["anthropic-version"] == "2023-06-01"
        assert fetched[0].headers["anthropic-beta"] == "b-1"

        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        assert [m.id for m in client.models.list()] == [entry["id"] for entry in LIVE]
        haiku = client.models.retrieve("claude-haiku-9")
        assert haiku.owned_by == "anthropic"
        assert haiku.model_extra == {
            "display_name": "Claude Haiku 9",
            "context_window": 200000,
            "max_output_tokens": 64000,
        }
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("claude-sonnet-4-6")  # static, not in the live list
        assert model_requests(live_models) == before + 2  # served from the cache

        status = httpx.get(f"{server.url}/v1/models/status").json()
        assert status["source"] == "live"
        assert status["model_count"] == 4
        # DEFAULT_MODEL is unset: the newest Sonnet of the served catalogue is the default.
        assert status["default_model"] == "claude-sonnet-9-1"
        assert status["live_url"] == f"{live_models.url}/v1/models"

        # A refresh refreshes the list that is served.
        live_models.models = [*live_models.models, {"id": "claude-fable-9"}]
        refreshed = httpx.post(f"{server.url}/v1/models/refresh").json()
        assert refreshed["refreshed"] is True
        assert refreshed["status"]["model_count"] == 5
        assert "claude-fable-9" in [m.id for m in client.models.list()]

        # A failing catalogue is answered from the static one (and retried after the error TTL).
        live_models.models_status = 503
        failed = httpx.post(f"{server.url}/v1/models/refresh").json()
        assert failed["refreshed"] is False
        assert failed["status"]["source"] == "static"
        assert "503" in failed["status"]["last_error"]
        assert FAKE_KEY not in str(failed)
        ids = [m.id for m in client.models.list()]
        assert "claude-sonnet-4-6" in ids
        assert "claude-fable-9" not in ids


def test_static_catalogue_without_an_api_key(upstream: FakeUpstream) -> None:
    before = model_requests(upstream)
    with ServerProcess(upstream.url, env={"ANTHROPIC_API_KEY": ""}) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        ids = [m.id for m in client.models.list()]
        assert "claude-sonnet-4-6" in ids
        status = httpx.get(f"{server.url}/v1/models/status").json()
        assert status["source"] == "static"
        assert status["live_configured"] is False
        refreshed = httpx.post(f"{server.url}/v1/models/refresh").json()
        assert refreshed["refreshed"] is False
        assert "ANTHROPIC_API_KEY" in refreshed["message"]
    assert model_requests(upstream) == before


def test_override_pins_the_list_above_the_live_one(live_models: FakeUpstream) -> None:
    env = {
        "CLAUDE_MODELS_OVERRIDE": "claude-sonnet-4-6, my-proxy-model",
        "ANTHROPIC_MODELS_URL": f"{live_models.url}/v1/models",
    }
    before = model_requests(live_models)
    with ServerProcess(live_models.url, env=env) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        assert [m.id for m in client.models.list()] == ["claude-sonnet-4-6", "my-proxy-model"]
        assert client.models.retrieve("my-proxy-model").id == "my-proxy-model"
        status = httpx.get(f"{server.url}/v1/models/status").json()
        assert status["source"] == "override"
        assert status["default_model"] == "claude-sonnet-4-6"
        assert httpx.post(f"{server.url}/v1/models/refresh").json()["refreshed"] is False
    assert model_requests(live_models) == before
