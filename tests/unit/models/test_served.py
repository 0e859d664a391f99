"""The live model catalogue (against the fake upstream) and the one served list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import anyio
import httpx
import msgspec
import pytest

from tests.fakes.anthropic_upstream import FakeUpstream
from wrapper.config import load_settings
from wrapper.models.catalogue import STATIC_MODELS, ModelInfo
from wrapper.models.live import (
    DEFAULT_MODELS_URL,
    LiveModelsError,
    LiveModelsSource,
    family_of,
    fetch_live_models,
    live_source,
)
from wrapper.models.served import ServedModels

KNOWN = {model.id: model for model in STATIC_MODELS}
LIVE: list[dict[str, object]] = [
    {"id": "claude-opus-9", "display_name": "Opus 9", "created_at": "2031-02-01T00:00:00Z"},
    {"id": "claude-sonnet-9", "display_name": "Sonnet 9", "created_at": "2031-01-01T00:00:00Z"},
    {
        "id": "claude-sonnet-4-6",
        "created_at": "2025-08-01T00:00:00Z",
        "max_input_tokens": 1_000_000,
        "max_tokens": 64_000,
    },
    {"id": "claude-haiku-9", "created_at": "2030-01-01T00:00:00Z", "type": "model"},
    {"id": "claude-sonnet-8", "created_at": "2030-06-01T00:00:00Z"},
]


@pytest.fixture
def models_upstream(upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    saved = (upstream.models, upstream.models_status, upstream.models_page_size)
    upstream.models = [dict(entry) for entry in LIVE]
    upstream.models_status = 200
    upstream.models_page_size = 2
    try:
        yield upstream
    finally:
        upstream.models, upstream.models_status, upstream.models_page_size = saved


def source(upstream: FakeUpstream, **kwargs: str) -> LiveModelsSource:
    base = LiveModelsSource(url=f"{upstream.url}/v1/models", api_key="sk-ant-live")
    return msgspec.structs.replace(base, **kwargs)


@pytest.mark.anyio
async def test_every_page_is_fetched_with_the_anthropic_headers(
    models_upstream: FakeUpstream,
) -> None:
    before = len(models_upstream.recorded(path="/v1/models"))
    models = await fetch_live_models(
        source(models_upstream, version="2023-06-01", beta="models-beta-1"), KNOWN
    )
    assert [m.id for m in models] == [entry["id"] for entry in LIVE]
    requests = models_upstream.recorded(path="/v1/models")[before:]
    assert len(requests) == 3  # 5 models, 2 per page
    assert "after_id" not in requests[0].query
    assert "after_id=claude-sonnet-9" in requests[1].query
    assert "after_id=claude-haiku-9" in requests[2].query
    for request in requests:
        assert request.headers["x-api-key"] == "sk-ant-live"
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert request.headers["anthropic-beta"] == "models-beta-1"
        assert "limit=1000" in request.query
    sonnet_4_6 = next(m for m in models if m.id == "claude-sonnet-4-6")
    assert sonnet_4_6.context_window == 1_000_000
    assert sonnet_4_6.max_output_tokens == 64_000
    opus = models[0]
    assert opus.display_name == "Opus 9"
    assert opus.family == "opus"
    assert opus.created == int(datetime(2031, 2, 1, tzinfo=UTC).timestamp())


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "hint"), [(401, "check ANTHROPIC_API_KEY"), (500, "500")])
async def test_an_error_status_is_a_live_models_error(
    models_upstream: FakeUpstream, status: int, hint: str
) -> None:
    models_upstream.models_status = status
    with pytest.raises(LiveModelsError, match=hint) as caught:
        await fetch_live_models(source(models_upstream), KNOWN)
    assert "sk-ant-live" not in str(caught.value)


@pytest.mark.anyio
async def test_an_empty_catalogue_is_an_error(models_upstream: FakeUpstream) -> None:
    models_upstream.models = []
    with pytest.raises(LiveModelsError, match="empty"):
        await fetch_live_models(source(models_upstream), KNOWN)


@pytest.mark.anyio
async def test_a_slow_catalogue_times_out() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError

    slow = LiveModelsSource(url="http://127.0.0.1:9/v1/models", api_key="k", timeout_s=0.2)
    with pytest.raises(LiveModelsError, match=r"within 0\.2 s"):
        await fetch_live_models(slow, KNOWN, transport=httpx.MockTransport(hang))


@pytest.mark.anyio
async def test_an_unreachable_catalogue_is_an_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    unreachable = LiveModelsSource(url="http://127.0.0.1:9/v1/models", api_key="k")
    with pytest.raises(LiveModelsError, match="could not be reached"):
        await fetch_live_models(unreachable, KNOWN, transport=httpx.MockTransport(refuse))


def test_live_source_needs_a_key_and_follows_the_base_url() -> None:
    settings = load_settings({}).models
    assert live_source(settings, {}) is None
    direct = live_source(settings, {"ANTHROPIC_API_KEY": "k"})
    assert direct is not None
    assert direct.url == DEFAULT_MODELS_URL
    proxied = live_source(settings, {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "http://p:1/"})
    assert proxied is not None
    assert proxied.url == "http://p:1/v1/models"
    explicit = load_settings(
        {
            "ANTHROPIC_MODELS_URL": "http://m:2/models",
            "ANTHROPIC_VERSION": "2024-01-01",
            "ANTHROPIC_BETA_HEADER": "b1",
            "MODEL_LIST_REQUEST_TIMEOUT_SECONDS": "2.5",
        }
    ).models
    chosen = live_source(explicit, {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "http://p:1"})
    assert chosen is not None
    assert chosen.url == "http://m:2/models"
    assert chosen.headers() == {
        "x-api-key": "k",
        "anthropic-version": "2024-01-01",
        "accept": "application/json",
        "anthropic-beta": "b1",
    }
    assert chosen.timeout_s == 2.5


def test_family_of() -> None:
    assert family_of("claude-sonnet-4-6") == "sonnet"
    assert family_of("claude-3-7-Haiku") == "haiku"
    assert family_of("gpt-4o") == "other"


# --------------------------------------------------------------------------------------
# ServedModels


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def info(model_id: str, created: int) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        display_name=model_id,
        family=family_of(model_id),
        created=created,
        context_window=0,
        max_output_tokens=0,
    )


STATIC = (info("claude-sonnet-1", 1), info("claude-opus-1", 2))


class ScriptedFetch:
    """Answers fetches in turn: a model tuple, or a LiveModelsError to raise."""

    def __init__(self, *answers: tuple[ModelInfo, ...] | LiveModelsError) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.gate: anyio.Event | None = None

    async def __call__(self, source: LiveModelsSource) -> tuple[ModelInfo, ...]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, LiveModelsError):
            raise answer
        return answer


def served(
    fetch: ScriptedFetch, clock: Clock, *, pinned: bool = False, live: bool = True
) -> ServedModels:
    return ServedModels(
        fallback=STATIC,
        pinned=pinned,
        source=LiveModelsSource(url="http://127.0.0.1:9/v1/models", api_key="k") if live else None,
        fetch=fetch,
        ttl_s=3600,
        error_ttl_s=60,
        default_model="claude-sonnet-1",
        clock=clock,
        wall_clock=lambda: 1_700_000_000.0,
    )


LIVE_A = (info("claude-sonnet-5", 50), info("claude-sonnet-7", 70), info("claude-opus-7", 80))
LIVE_B = (info("claude-haiku-9", 90),)


@pytest.mark.anyio
async def test_live_list_is_cached_for_its_ttl() -> None:
    clock = Clock()
    fetch = ScriptedFetch(LIVE_A, LIVE_B)
    models = served(fetch, clock)
    assert await models.models() == LIVE_A
    clock.now += 3599
    assert await models.models() == LIVE_A
    assert fetch.calls == 1
    assert models.latest_sonnet() == "claude-sonnet-7"
    assert models.status().source == "live"
    assert models.status().next_refresh_in == pytest.approx(1)
    clock.now += 1
    assert await models.models() == LIVE_B
    assert fetch.calls == 2


@pytest.mark.anyio
async def test_a_failure_is_answered_from_the_static_list_for_the_error_ttl() -> None:
    clock = Clock()
    fetch = ScriptedFetch(LiveModelsError("the Models API answered HTTP 503"), LIVE_A)
    models = served(fetch, clock)
    assert await models.models() == STATIC
    status = models.status()
    assert status.source == "static"
    assert status.last_error == "the Models API answered HTTP 503"
    assert status.last_success is None
    clock.now += 59
    assert await models.models() == STATIC
    assert fetch.calls == 1
    clock.now += 1
    assert await models.models() == LIVE_A
    assert models.status().last_error is None
    assert models.status().last_success == 1_700_000_000.0


@pytest.mark.anyio
async def test_refresh_changes_what_is_served() -> None:
    clock = Clock()
    fetch = ScriptedFetch(LIVE_A, LIVE_B)
    models = served(fetch, clock)
    assert await models.find("claude-opus-7") is not None
    assert await models.refresh() is True
    assert await models.find("claude-opus-7") is None
    assert await models.find("claude-haiku-9") is not None
    assert fetch.calls == 2


@pytest.mark.anyio
async def test_one_fetch_at_a_time() -> None:
    clock = Clock()
    fetch = ScriptedFetch(LIVE_A)
    fetch.gate = anyio.Event()
    models = served(fetch, clock)
    results: list[tuple[ModelInfo, ...]] = []

    async def ask() -> None:
        results.append(await models.models())

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        fetch.gate.set()
    assert fetch.calls == 1
    assert results == [LIVE_A] * 5


@pytest.mark.anyio
async def test_an_override_pins_the_list_and_nothing_is_fetched() -> None:
    fetch = ScriptedFetch(LIVE_A)
    models = served(fetch, Clock(), pinned=True)
    assert await models.models() == STATIC
    assert await models.refresh() is False
    assert fetch.calls == 0
    assert models.status().source == "override"


@pytest.mark.anyio
async def test_without_a_live_source_the_static_list_is_served() -> None:
    fetch = ScriptedFetch(LIVE_A)
    models = served(fetch, Clock(), live=False)
    assert await models.models() == STATIC
    assert await models.refresh() is False
    assert fetch.calls == 0
    assert models.status().live_configured is False
