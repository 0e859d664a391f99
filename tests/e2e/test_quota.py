"""Quota awareness and a team's keys through the real chain.

The server signs the CLI in with a made-up subscription token
(``CLAUDE_CODE_OAUTH_TOKEN``, no ``ANTHROPIC_API_KEY``) pointed at the fake upstream
on loopback: only then does the bundled CLI turn the
``anthropic-ratelimit-unified-*`` headers into rate-limit readings. The fake sends
those headers (a warning needs the per-window ``-surpassed-threshold`` one), a 429
with a rejected window, and the billing refusal's text; the official clients see
the plan limit as their RateLimitError with the real reset in ``Retry-After``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.e2e.browser import chromium, screenshot
from tests.e2e.harness import ServerProcess, wait_until
from tests.fakes.anthropic_upstream import FakeUpstream, Reply
from tests.redis_server import RedisServer

pytestmark = pytest.mark.e2e

ALICE, BOB, OPS, CAROL = "sk-alice-e2e", "sk-bob-e2e", "sk-ops-e2e", "sk-carol-e2e"
MODEL = "claude-sonnet-4-6"


def window_headers(status: str, resets_at: int) -> dict[str, str]:
    """What Claude's API sends a subscription: the five-hour window near its limit."""
    return {
        "anthropic-ratelimit-unified-status": status,
        "anthropic-ratelimit-unified-reset": str(resets_at),
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-5h-status": status,
        "anthropic-ratelimit-unified-5h-utilization": "0.93",
        "anthropic-ratelimit-unified-5h-reset": str(resets_at),
        "anthropic-ratelimit-unified-5h-surpassed-threshold": "0.9",
        "anthropic-ratelimit-unified-7d-status": "allowed",
        "anthropic-ratelimit-unified-7d-utilization": "0.41",
        "anthropic-ratelimit-unified-7d-reset": str(resets_at + 3 * 86400),
    }


def subscription_env(data_dir: Path, **extra: str) -> dict[str, str]:
    keys_file = data_dir.parent / "keys.toml"
    keys_file.write_text(
        f'[[keys]]\nname = "carol"\nkey = "{CAROL}"\ntokens_per_day = 1\n', encoding="utf-8"
    )
    return {
        "ANTHROPIC_API_KEY": "",
        "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-made-up-for-tests",
        "CLAUDE_AUTH_METHOD": "cli",
        "CLI_AUTH_PROBE_INTERVAL_SECONDS": "0",
        "API_KEYS": f"alice:{ALICE},bob:{BOB},ops:{OPS}:admin",
        "API_KEYS_FILE": str(keys_file),
        "DATA_DIR": str(data_dir),
        **extra,
    }


@pytest.fixture(scope="module")
def plan_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        fake.headers = window_headers("allowed_warning", int(time.time()) + 7200)
        yield fake


@pytest.fixture(scope="module")
def team(
    plan_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("team") / "data"
    with ServerProcess(plan_upstream.url, env=subscription_env(data)) as proc:
        yield proc


def usage(server: ServerProcess, secret: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/v1/usage", headers={"authorization": f"Bearer {secret}"}, params=params
    )


def chat(
    server: ServerProcess, secret: str, text: str, extra_body: dict[str, object] | None = None
) -> str:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key=secret, max_retries=0) as client:
        reply = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": text}], extra_body=extra_body
        )
    return reply.choices[0].message.content or ""


def openai_turn(server: ServerProcess, secret: str, text: str, *, stream: bool) -> None:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key=secret, max_retries=0) as client:
        if not stream:
            client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": text}]
            )
            return
        for _ in client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": text}], stream=True
        ):
            pass


def anthropic_turn(server: ServerProcess, secret: str, text: str, *, stream: bool) -> None:
    with anthropic.Anthropic(base_url=server.url, api_key=secret, max_retries=0) as client:
        messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": text}]
        if not stream:
            client.messages.create(model=MODEL, max_tokens=32, messages=messages)
            return
        with client.messages.stream(model=MODEL, max_tokens=32, messages=messages) as events:
            for _ in events:
                pass


def test_usage_shows_the_windows_the_cli_reported_and_each_keys_spend(
    team: ServerProcess,
) -> None:
    assert chat(team, ALICE, "count my usage") == "You said: count my usage"
    seen = usage(team, ALICE)
    assert seen.status_code == 200
    body = seen.json()
    plan = body["plan"]
    assert plan["closest"] == "five_hour"
    windows = {window["window"]: window for window in plan["windows"]}
    assert windows["five_hour"]["status"] == "warning"
    assert windows["five_hour"]["utilization"] == pytest.approx(0.93)
    assert windows["five_hour"]["surpassed_threshold"] == pytest.approx(0.9)
    assert 7000 < windows["five_hour"]["resets_in_s"] <= 7200
    assert windows["seven_day"]["status"] == "allowed"
    assert windows["five_hour"]["age_s"] < 120
    assert [key["name"] for key in body["keys"]] == ["alice"]
    spent = body["keys"][0]["total"]
    assert spent["requests"] >= 1
    assert spent["input_tokens"] > 0
    assert spent["output_tokens"] > 0
    everyone = usage(team, OPS).json()
    assert {key["name"] for key in everyone["keys"]} == {"alice", "bob", "ops", "carol"}
    assert usage(team, BOB, key="alice").status_code == 403
    status = httpx.get(f"{team.url}/v1/auth/status", headers={"x-api-key": ALICE}).json()
    assert status["plan_usage"]["closest"] == "five_hour"
    metrics = httpx.get(f"{team.url}/metrics", headers={"x-api-key": OPS}).text
    assert 'claude_wrapper_plan_window_status{window="five_hour"} 1.0' in metrics
    assert 'claude_wrapper_key_requests_total{key="alice"}' in metrics
    assert httpx.get(f"{team.url}/metrics", headers={"x-api-key": ALICE}).status_code == 403


def test_the_server_names_itself_upstream_not_its_caller(
    team: ServerProcess, plan_upstream: FakeUpstream
) -> None:
    marker = f"AGENT-{uuid.uuid4().hex[:8]}"
    assert chat(team, ALICE, marker)
    agents = {r.headers.get("user-agent", "") for r in plan_upstream.recorded(marker)}
    assert agents
    assert all("claude-wrapper/" in agent for agent in agents), agents
    assert not any("openai" in agent.lower() for agent in agents)


def _reject(upstream: FakeUpstream, marker: str, resets_at: int) -> None:
    upstream.script(
        marker,
        Reply(
            status=429,
            error_type="rate_limit_error",
            error_message="Rate limited",
            headers=window_headers("rejected", resets_at),
        ),
    )


@pytest.mark.parametrize("stream", [False, True])
def test_a_plan_limit_is_the_openai_clients_rate_limit_error_with_the_real_reset(
    team: ServerProcess, plan_upstream: FakeUpstream, stream: bool
) -> None:
    marker = f"LIMIT-{uuid.uuid4().hex[:8]}"
    _reject(plan_upstream, marker, int(time.time()) + 1500)
    with pytest.raises(openai.RateLimitError) as raised:
        openai_turn(team, BOB, marker, stream=stream)
    error = raised.value
    assert error.status_code == 429
    assert error.code == "usage_limit_reached"
    assert 1400 <= int(error.response.headers["retry-after"]) <= 1500
    plan = usage(team, BOB).json()["plan"]
    assert plan["rejected"] is True


@pytest.mark.parametrize("stream", [False, True])
def test_a_plan_limit_is_the_anthropic_clients_rate_limit_error(
    team: ServerProcess, plan_upstream: FakeUpstream, stream: bool
) -> None:
    marker = f"LIMIT-{uuid.uuid4().hex[:8]}"
    _reject(plan_upstream, marker, int(time.time()) + 900)
    with pytest.raises(anthropic.RateLimitError) as raised:
        anthropic_turn(team, BOB, marker, stream=stream)
    assert raised.value.status_code == 429
    assert 800 <= int(raised.value.response.headers["retry-after"]) <= 900


@pytest.mark.parametrize("stream", [False, True])
def test_a_plan_limit_on_the_responses_api_is_a_rate_limit_error(
    team: ServerProcess, plan_upstream: FakeUpstream, stream: bool
) -> None:
    marker = f"LIMIT-{uuid.uuid4().hex[:8]}"
    _reject(plan_upstream, marker, int(time.time()) + 600)
    with (
        openai.OpenAI(base_url=f"{team.url}/v1", api_key=BOB, max_retries=0) as client,
        pytest.raises(openai.RateLimitError) as raised,
    ):
        responses_turn(client, marker, stream=stream)
    assert raised.value.code == "usage_limit_reached"
    assert 500 <= int(raised.value.response.headers["retry-after"]) <= 600


def responses_turn(client: openai.OpenAI, text: str, *, stream: bool) -> None:
    if not stream:
        client.responses.create(model=MODEL, input=text)
        return
    for _ in client.responses.create(model=MODEL, input=text, stream=True):
        pass


def test_a_billing_refusal_has_its_own_code_and_each_apis_status(
    team: ServerProcess, plan_upstream: FakeUpstream
) -> None:
    marker = f"BILLING-{uuid.uuid4().hex[:8]}"
    plan_upstream.script(
        marker,
        Reply.error(
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. "
            "Please go to Plans & Billing to upgrade or purchase credits.",
        ),
    )
    with pytest.raises(openai.RateLimitError) as raised:
        openai_turn(team, BOB, marker, stream=False)
    assert raised.value.code == "insufficient_quota"
    assert raised.value.response.headers["x-should-retry"] == "false"
    with pytest.raises(anthropic.APIStatusError) as refused:
        anthropic_turn(team, BOB, marker, stream=False)
    assert refused.value.status_code == 402
    assert refused.value.body["error"]["type"] == "billing_error"  # type: ignore[index]


def test_keys_see_only_their_own_sessions_and_stored_responses(team: ServerProcess) -> None:
    assert chat(team, ALICE, "remember me", extra_body={"session_id": "shared-name"})
    own = httpx.get(f"{team.url}/v1/sessions/shared-name", headers={"x-api-key": ALICE})
    other = httpx.get(f"{team.url}/v1/sessions/shared-name", headers={"x-api-key": BOB})
    assert own.status_code == 200
    assert other.status_code == 404
    listed = httpx.get(f"{team.url}/v1/sessions", headers={"x-api-key": BOB}).json()
    assert listed["sessions"] == []
    with (
        openai.OpenAI(base_url=f"{team.url}/v1", api_key=ALICE, max_retries=0) as alice,
        openai.OpenAI(base_url=f"{team.url}/v1", api_key=BOB, max_retries=0) as bob,
    ):
        stored = alice.responses.create(model=MODEL, input="keep this")
        assert alice.responses.retrieve(stored.id).id == stored.id
        with pytest.raises(openai.NotFoundError):
            bob.responses.retrieve(stored.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.create(model=MODEL, input="continue it", previous_response_id=stored.id)
        with pytest.raises(openai.PermissionDeniedError):
            bob.post("/cache/clear", cast_to=httpx.Response)


def test_a_spent_budget_is_refused_survives_a_restart_and_is_restored(
    plan_upstream: FakeUpstream, tmp_path: Path
) -> None:
    env = subscription_env(tmp_path / "data")
    carol = {"x-api-key": CAROL}
    with ServerProcess(plan_upstream.url, env=env) as first:
        assert chat(first, CAROL, "spend my budget")
        with pytest.raises(openai.RateLimitError) as spent:
            chat(first, CAROL, "and more")
        assert spent.value.code == "key_budget_exceeded"
        assert int(spent.value.response.headers["retry-after"]) >= 1
    with ServerProcess(plan_upstream.url, env=env) as again:
        with pytest.raises(openai.RateLimitError):
            chat(again, CAROL, "after the restart")
        today = usage(again, CAROL).json()["keys"][0]["today"]
        assert today["output_tokens"] > 0
        restored = httpx.delete(f"{again.url}/v1/usage/keys/carol", headers={"x-api-key": OPS})
        assert restored.status_code == 200
        assert httpx.delete(f"{again.url}/v1/usage/keys/carol", headers=carol).status_code == 403
        assert chat(again, CAROL, "budget restored") == "You said: budget restored"


def test_two_replicas_on_redis_agree_on_usage_and_budgets(
    plan_upstream: FakeUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    prefix = f"quota-{uuid.uuid4().hex[:10]}"
    shared = {"SESSION_STORE_URL": f"{redis_server.url}?prefix={prefix}"}
    with (
        ServerProcess(plan_upstream.url, env=subscription_env(tmp_path / "a", **shared)) as a,
        ServerProcess(
            plan_upstream.url, env=subscription_env(tmp_path / "b", **shared), worker_class="trio"
        ) as b,
    ):
        assert chat(a, CAROL, "spent on replica a")
        # Replica a writes its reading out as it comes; b sees it once it is there.
        assert wait_until(lambda: usage(b, CAROL).json()["plan"]["closest"] == "five_hour")
        seen_by_b = usage(b, CAROL).json()
        assert seen_by_b["plan"]["shared"] is True
        assert seen_by_b["plan"]["closest"] == "five_hour"
        assert seen_by_b["keys"][0]["total"]["requests"] == 1
        with pytest.raises(openai.RateLimitError) as refused:
            chat(b, CAROL, "refused on replica b")
        assert refused.value.code == "key_budget_exceeded"


def test_the_landing_pages_quota_card_shows_the_windows(team: ServerProcess) -> None:
    assert chat(team, ALICE, "before the page looks")
    with chromium() as browser:
        page = browser.new_page()
        page.goto(team.url + "/")
        page.fill("#api-key", ALICE)
        page.click("#key-form button[type=submit]")
        page.wait_for_function(
            "() => document.getElementById('quota').textContent.includes('five_hour')"
        )
        card = page.text_content("#quota") or ""
        assert "five_hour (closest)" in card
        assert "warning · 93% used" in card
        assert "seven_day" in card
        assert "key alice today" in card
        assert "you are" in (page.text_content("#auth") or "")
        screenshot(page, "landing-quota")
        page.close()


def test_the_quota_guard_refuses_early_once_claude_rejected(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        fake.headers = window_headers("allowed", int(time.time()) + 7200)
        env = subscription_env(tmp_path / "data", QUOTA_GUARD="true")
        with ServerProcess(fake.url, env=env) as guarded:
            marker = f"LIMIT-{uuid.uuid4().hex[:8]}"
            _reject(fake, marker, int(time.time()) + 1200)
            with pytest.raises(openai.RateLimitError):
                openai_turn(guarded, ALICE, marker, stream=False)
            asked = len(fake.recorded())
            with pytest.raises(openai.RateLimitError) as early:
                openai_turn(guarded, BOB, "not sent upstream", stream=True)
            with pytest.raises(anthropic.RateLimitError):
                anthropic_turn(guarded, BOB, "nor this", stream=False)
            assert len(fake.recorded()) == asked
    assert early.value.code == "usage_limit_reached"
    assert 1100 <= int(early.value.response.headers["retry-after"]) <= 1200
