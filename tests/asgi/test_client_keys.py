"""Named client keys in-process: roles and admin-only routes, attribution, budgets, the plan."""

from __future__ import annotations

import time

import pytest

from tests.asgi.driver import Exchange, json_body, make_app, quiet_settings, started
from tests.fakes.backend import FakeBackend, text_events
from wrapper.app import App
from wrapper.config import KeySettings
from wrapper.errors import ExtraUsageRefusedError
from wrapper.events import TurnEnd, Usage
from wrapper.upstream.limit_phrases import plan_limit_error

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
HELLO = json_body({"messages": [{"role": "user", "content": "hi"}]})
ANTHROPIC_HELLO = json_body(
    {"model": "claude-test", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
)
KEYS = (("alice", "sk-alice", "user"), ("bob", "sk-bob", "user"), ("ops", "sk-ops", "admin"))


def _app(backend: FakeBackend | None = None, **keys: object) -> App:
    settings = quiet_settings(keys=KeySettings(api_keys=KEYS, **keys))  # type: ignore[arg-type]
    backend = backend or FakeBackend(
        text_events("Hi", usage=Usage(input_tokens=10, output_tokens=2))
    )
    app, _ = make_app(backend, settings)
    return app


def _as(key: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {key}"), ("content-type", "application/json")]


async def _chat(app: App, key: str, path: str = CHAT) -> Exchange:
    body = ANTHROPIC_HELLO if path == MESSAGES else HELLO
    return await Exchange("POST", path, headers=_as(key), body=body).run(app)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/cache/clear"),
        ("POST", "/v1/models/refresh"),
        ("POST", "/v1/debug/request"),
        ("GET", "/metrics"),
        ("DELETE", "/v1/usage/keys/bob"),
    ],
)
async def test_admin_only_routes_refuse_a_user_key_with_403(method: str, path: str) -> None:
    app = _app()
    async with started(app):
        refused = await Exchange(method, path, headers=_as("sk-alice"), body=b"{}").run(app)
    assert refused.status == 403, refused.body
    assert refused.json()["error"]["type"] == "permission_error"


async def test_an_admin_key_passes_admin_only_routes() -> None:
    app = _app()
    async with started(app):
        cleared = await Exchange("POST", "/v1/cache/clear", headers=_as("sk-ops")).run(app)
        metrics = await Exchange("GET", "/metrics", headers=_as("sk-ops")).run(app)
    assert cleared.status == 200
    assert metrics.status == 200


async def test_an_unknown_key_is_401() -> None:
    app = _app()
    async with started(app):
        refused = await _chat(app, "sk-nobody")
    assert refused.status == 401


async def test_api_key_is_one_admin_key_beside_api_keys() -> None:
    settings = quiet_settings(api_key="sk-legacy", keys=KeySettings(api_keys=KEYS))
    app, _ = make_app(FakeBackend(text_events("Hi")), settings)
    async with started(app):
        usage = await Exchange("GET", "/v1/usage", headers=_as("sk-legacy")).run(app)
    assert usage.status == 200
    assert usage.json()["caller"] == "admin"
    assert [key["name"] for key in usage.json()["keys"]] == ["admin", "alice", "bob", "ops"]


async def test_each_request_is_charged_to_its_key() -> None:
    app = _app()
    async with started(app):
        assert (await _chat(app, "sk-alice")).status == 200
        assert (await _chat(app, "sk-alice", MESSAGES)).status == 200
        own = await Exchange("GET", "/v1/usage", headers=_as("sk-alice")).run(app)
        everyone = await Exchange("GET", "/v1/usage", headers=_as("sk-ops")).run(app)
        other = await Exchange("GET", "/v1/usage", headers=_as("sk-bob"), query="key=alice").run(
            app
        )
        metrics = await Exchange("GET", "/metrics", headers=_as("sk-ops")).run(app)
    assert own.status == 200
    keys = own.json()["keys"]
    assert [key["name"] for key in keys] == ["alice"]
    assert keys[0]["total"] == {
        "requests": 2,
        "input_tokens": 20,
        "output_tokens": 4,
        "cost_usd": 0.0,
    }
    assert keys[0]["today"]["requests"] == 2
    by_name = {key["name"]: key for key in everyone.json()["keys"]}
    assert by_name["alice"]["total"]["requests"] == 2
    assert by_name["bob"]["total"]["requests"] == 0
    assert other.status == 403
    assert 'claude_wrapper_key_requests_total{key="alice"} 2.0' in metrics.body.decode()
    assert 'claude_wrapper_key_tokens_total{direction="output",key="alice"} 4.0' in (
        metrics.body.decode()
    )


async def test_a_spent_request_budget_is_429_with_retry_after() -> None:
    app = _app(requests_per_minute=1)
    async with started(app):
        first = await _chat(app, "sk-alice")
        second = await _chat(app, "sk-alice")
        others = await _chat(app, "sk-bob")
        admin = await _chat(app, "sk-ops")
        admin_again = await _chat(app, "sk-ops")
    assert first.status == 200
    assert second.status == 429
    assert second.json()["error"]["code"] == "key_budget_exceeded"
    assert 1 <= int(second.headers["retry-after"]) <= 60
    assert others.status == 200
    # Admin keys from the environment carry no budget.
    assert admin.status == admin_again.status == 200


async def test_a_spent_token_budget_waits_for_the_day_and_an_admin_can_restore_it() -> None:
    app = _app(tokens_per_day=5)
    async with started(app):
        first = await _chat(app, "sk-alice")
        spent = await _chat(app, "sk-alice", MESSAGES)
        reset = await Exchange("DELETE", "/v1/usage/keys/alice", headers=_as("sk-ops")).run(app)
        restored = await _chat(app, "sk-alice")
    assert first.status == 200
    assert spent.status == 429
    assert spent.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(spent.headers["retry-after"]) <= 86400
    assert reset.status == 200
    assert restored.status == 200


def _readings(status: str, resets_at: float) -> dict[str, object]:
    return {
        "status": status,
        "resetsAt": int(resets_at),
        "rateLimitType": "five_hour",
        "unifiedWindows": {
            "five_hour": {"utilization": 0.97, "resetsAt": int(resets_at), "status": status},
            "seven_day": {"utilization": 0.4, "resetsAt": int(resets_at) + 86400},
        },
    }


async def test_usage_shows_every_plan_window_closest_first() -> None:
    app = _app()
    resets_at = time.time() + 1200
    async with started(app):
        assert app.ctx is not None
        app.ctx.ops.usage.plan.observe(_readings("allowed_warning", resets_at))
        usage = await Exchange("GET", "/v1/usage", headers=_as("sk-alice")).run(app)
        status = await Exchange("GET", "/v1/auth/status", headers=_as("sk-alice")).run(app)
        metrics = await Exchange("GET", "/metrics", headers=_as("sk-ops")).run(app)
    plan = usage.json()["plan"]
    assert plan["closest"] == "five_hour"
    assert [w["window"] for w in plan["windows"]] == ["five_hour", "seven_day"]
    five = plan["windows"][0]
    assert five["status"] == "warning"
    assert five["utilization"] == 0.97
    assert 1100 < five["resets_in_s"] <= 1200
    assert five["age_s"] >= 0
    assert plan["rejected"] is False
    assert status.json()["plan_usage"]["closest"] == "five_hour"
    text = metrics.body.decode()
    assert 'claude_wrapper_plan_window_utilization{window="five_hour"} 0.97' in text
    assert 'claude_wrapper_plan_window_status{window="five_hour"} 1.0' in text


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
async def test_the_quota_guard_refuses_early_while_a_window_is_rejected(path: str) -> None:
    backend = FakeBackend(text_events("Hi"))
    app = _app(backend, quota_guard=True)
    async with started(app):
        assert app.ctx is not None
        app.ctx.ops.usage.plan.observe(_readings("rejected", time.time() + 600))
        refused = await _chat(app, "sk-alice", path)
    assert refused.status == 429
    assert 590 <= int(refused.headers["retry-after"]) <= 600
    assert backend.turns == []


async def test_without_the_guard_a_rejected_window_still_lets_turns_try() -> None:
    app = _app()
    async with started(app):
        assert app.ctx is not None
        app.ctx.ops.usage.plan.observe(_readings("rejected", time.time() + 600))
        tried = await _chat(app, "sk-alice")
    assert tried.status == 200


@pytest.mark.parametrize(
    ("path", "status", "error_type"),
    [(CHAT, 429, "insufficient_quota"), (MESSAGES, 402, "billing_error")],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_billing_refusal_has_each_apis_own_status(
    path: str, status: int, error_type: str, stream: bool
) -> None:
    backend = FakeBackend([ExtraUsageRefusedError("You're out of extra usage")])
    app = _app(backend)
    payload = {"model": "claude-test", "max_tokens": 16, "stream": stream,
               "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip
    async with started(app):
        refused = await Exchange(
            "POST", path, headers=_as("sk-alice"), body=json_body(payload)
        ).run(app)
    assert refused.status == status
    assert refused.json()["error"]["type"] == error_type
    assert refused.headers["x-should-retry"] == "false"


async def test_a_key_sees_and_continues_only_its_own_sessions() -> None:
    backend = FakeBackend(text_events("one"), text_events("two"), text_events("three"))
    app = _app(backend)
    payload = json_body({"messages": [{"role": "user", "content": "hi"}], "session_id": "s1"})
    async with started(app):
        mine = await Exchange("POST", CHAT, headers=_as("sk-alice"), body=payload).run(app)
        theirs = await Exchange("POST", CHAT, headers=_as("sk-bob"), body=payload).run(app)
        assert app.ctx is not None
        # The fake backend runs no session turns: the two sessions are made as a CLI's would be.
        for stored_id in ("alice/s1", "bob/s1"):
            async with app.ctx.stores.sessions.lease(stored_id) as lease:
                await lease.commit(model="claude-test")
        listed = await Exchange("GET", "/v1/sessions", headers=_as("sk-alice")).run(app)
        counted = await Exchange("GET", "/v1/sessions/stats", headers=_as("sk-alice")).run(app)
        got = await Exchange("GET", "/v1/sessions/s1", headers=_as("sk-alice")).run(app)
        stored = sorted(r.session_id for r in await app.ctx.stores.sessions.list_sessions())
        deleted = await Exchange("DELETE", "/v1/sessions/s1", headers=_as("sk-bob")).run(app)
        still = await Exchange("GET", "/v1/sessions/s1", headers=_as("sk-alice")).run(app)
        gone = await Exchange("GET", "/v1/sessions/s1", headers=_as("sk-bob")).run(app)
        ops = await Exchange("GET", "/v1/sessions/s1", headers=_as("sk-ops")).run(app)
    assert mine.status == theirs.status == 200
    assert [turn.session_id for turn in backend.turns] == ["alice/s1", "bob/s1"]
    assert [s["session_id"] for s in listed.json()["sessions"]] == ["s1"]
    assert counted.json()["session_stats"]["active_sessions"] == 1
    assert got.json()["session_id"] == "s1"
    assert stored == ["alice/s1", "bob/s1"]
    assert deleted.status == 200
    assert still.status == 200
    assert gone.status == 404
    assert ops.status == 404


async def test_another_keys_stored_response_is_404() -> None:
    backend = FakeBackend(text_events("stored"), text_events("continued"))
    app = _app(backend)
    payload = json_body({"model": "claude-test", "input": "hi"})
    async with started(app):
        created = await Exchange(
            "POST", "/v1/responses", headers=_as("sk-alice"), body=payload
        ).run(app)
        response_id = created.json()["id"]
        path = f"/v1/responses/{response_id}"
        own = await Exchange("GET", path, headers=_as("sk-alice")).run(app)
        other = await Exchange("GET", path, headers=_as("sk-bob")).run(app)
        follow = json_body({"model": "claude-test", "input": "more",
                            "previous_response_id": response_id})  # fmt: skip
        continued = await Exchange("POST", "/v1/responses", headers=_as("sk-bob"), body=follow).run(
            app
        )
        deleted = await Exchange("DELETE", path, headers=_as("sk-bob")).run(app)
        still = await Exchange("GET", path, headers=_as("sk-alice")).run(app)
    assert created.status == own.status == 200
    assert other.status == 404
    assert other.json()["error"]["code"] == "response_not_found"
    assert continued.status == 404
    assert deleted.status == 404
    assert still.status == 200


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        (CHAT, {"messages": [{"role": "user", "content": "hi"}]}),
        (MESSAGES, {"model": "claude-test", "max_tokens": 16,
                    "messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/responses", {"model": "claude-test", "input": "hi"}),
    ],
)  # fmt: skip
@pytest.mark.parametrize("stream", [False, True])
async def test_a_plan_limit_is_a_429_with_retry_after_on_every_api(
    path: str, payload: dict[str, object], stream: bool
) -> None:
    limit = plan_limit_error("You've hit your session limit", time.time() + 300)
    app = _app(FakeBackend([limit]))
    async with started(app):
        refused = await Exchange(
            "POST", path, headers=_as("sk-alice"), body=json_body({**payload, "stream": stream})
        ).run(app)
    assert refused.status == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert 290 <= int(refused.headers["retry-after"]) <= 300


async def test_a_spent_dollar_budget_waits_at_most_an_hour() -> None:
    end = TurnEnd(stop_reason="end_turn", usage=Usage(input_tokens=1, output_tokens=1),
                  model="claude-test", cost_usd=0.75)  # fmt: skip
    turn = [*text_events("Hi")[:-1], end]
    app = _app(FakeBackend(turn, turn), usd_per_month=0.5)
    async with started(app):
        first = await _chat(app, "sk-alice")
        spent = await _chat(app, "sk-alice")
        usage = await Exchange("GET", "/v1/usage", headers=_as("sk-alice")).run(app)
    assert first.status == 200
    assert spent.status == 429
    assert spent.json()["error"]["code"] == "key_budget_exceeded"
    assert 1 <= int(spent.headers["retry-after"]) <= 3600
    key = usage.json()["keys"][0]
    assert key["this_month"]["cost_usd"] == 0.75
    assert key["budget"] == {"requests_per_minute": 0, "tokens_per_day": 0, "usd_per_month": 0.5}
