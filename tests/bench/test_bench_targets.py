"""The benchmark's scenario builders and target arithmetic; no server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from benchmarks import after_restart, conversations, report
from benchmarks.contenders import ServerContender
from benchmarks.conversation_scenarios import (
    AGENT_TOOLS,
    EXAMPLES,
    SCENARIOS,
    Client,
    agent_history,
)
from benchmarks.upstream import INSTANT_MARKER


def test_an_agent_history_answers_every_tool_call_and_ends_with_a_user_message() -> None:
    messages = agent_history(10, "t")
    assert sum(m["role"] == "user" for m in messages) == 10
    assert messages[-1]["role"] == "user"
    assert INSTANT_MARKER in messages[-1]["content"]
    calls = [m for m in messages if m.get("tool_calls")]
    assert len(calls) >= 3
    for call in calls:
        at = messages.index(call)
        answer = messages[at + 1]
        assert answer["role"] == "tool"
        assert answer["tool_call_id"] == call["tool_calls"][0]["id"]
        assert call["tool_calls"][0]["function"]["name"] in {
            tool["function"]["name"] for tool in AGENT_TOOLS
        }
    assert len(AGENT_TOOLS) == 2
    assert {"session-first", "session-next", "unseen-agent-10"} <= set(SCENARIOS)


def _entry(p50: float, cpu: float) -> dict[str, float]:
    return {"p50_s": p50, "cpu_s_per_request": cpu}


def test_conversation_targets_are_ratios_to_a_pool_hit_and_skip_what_did_not_run() -> None:
    scenarios: dict[str, Any] = {
        "one-shot": {"pooled": _entry(0.1, 0.05)},
        "session-first": {"pooled": _entry(0.14, 0.08)},
        "unseen-agent-10": {"pooled": _entry(0.5, 0.05)},
    }
    found = {t["scenario"]: t for t in conversations.targets({"scenarios": scenarios})}
    assert set(found) == {"session-first", "unseen-agent-10"}
    assert found["session-first"]["limit"] == 1.5
    assert found["session-first"]["latency"] == pytest.approx(1.4)
    assert found["session-first"]["cpu"] == pytest.approx(1.6)
    assert found["session-first"]["met"] is False
    assert found["unseen-agent-10"]["met"] is False


def test_the_restart_phase_is_judged_from_its_third_request() -> None:
    requests = [
        {"request": n + 1, "latency_s": latency, "cpu_s": cpu, "processes": 2, "spawned": 2}
        for n, (latency, cpu) in enumerate([(0.9, 0.7), (0.3, 0.2), (0.1, 0.05), (0.12, 0.06)])
    ]
    phase: dict[str, Any] = {
        "requests": requests,
        "think_s": 0.3,
        "healthy_after_s": 1.5,
        "startup_cpu_s": 1.0,
        "processes_at_health": 1,
        "from_request": 3,
        "later_p50_s": 0.11,
        "later_cpu_s_per_request": 0.055,
        "peak_rss_bytes": 600 * 1024 * 1024,
    }
    phase["vs_settled"] = after_restart.compare(phase, _entry(0.1, 0.05))
    assert phase["vs_settled"]["latency"] == pytest.approx(1.1)
    assert phase["vs_settled"]["cpu"] == pytest.approx(1.1)
    assert phase["vs_settled"]["met"] is True
    text = after_restart.report(phase)
    assert "peak RSS 600 MB" in text
    assert "| 1 | 900 ms | 0.700 | 2 | 2 |" in text
    assert "target <= 1.3x: met" in text


def _mode(**overrides: Any) -> dict[str, Any]:
    def contender(p50: float, cpu: float, rps: dict[str, float]) -> dict[str, Any]:
        return {
            "nonstream_s": {"p50": p50},
            "first_content_s": {"p50": p50 / 2},
            "cpu": {"sequential": {"cpu_s_per_request": cpu}},
            "throughput": {level: {"requests_per_s": v} for level, v in rps.items()},
        }

    mode = {
        "pooled": contender(0.044, 0.054, {"1": 20.0, "16": 38.0}),
        "pool-off": contender(0.5, 0.5, {"1": 2.0, "16": 2.0}),
        "floor": contender(0.04, 0.03, {"1": 40.0}),
        "floor-reset": contender(0.042, 0.05, {"1": 38.0}),
    }
    mode.update(overrides)
    return mode


def test_the_warm_floor_targets_compare_pooled_with_floor_and_floor_reset() -> None:
    rows = {row["target"]: row for row in report.targets(_mode())}
    c1 = rows["back-to-back c1: pooled p50 / floor p50"]
    assert c1["measured"] == pytest.approx(1.1)
    assert c1["met"] is True
    c16 = next(row for key, row in rows.items() if key.startswith("pooled req/s at 16 / floor"))
    assert c16["measured"] == pytest.approx(0.95)
    assert c16["met"] is True
    cpu = rows["pooled CPU-s per request / floor-reset's (sequential)"]
    assert cpu["measured"] == pytest.approx(1.08)
    assert cpu["met"] is True
    paced = {row["target"]: row for row in report.targets(_mode(), paced=True)}
    assert paced[c16["target"]]["met"] is None
    ratios = report.ratios(_mode())
    assert ratios["floor-reset/floor CPU per request"] == pytest.approx(0.05 / 0.03)


class _Recorder:
    """A chat-completions endpoint that answers every request and keeps its body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}]})


@asynccontextmanager
async def _recorded() -> AsyncIterator[tuple[Client, _Recorder]]:
    """A scenario client whose requests a :class:`_Recorder` answers."""
    recorder = _Recorder()
    contender = ServerContender("fake", "http://127.0.0.1:9", 0, pooled=True)
    await contender.http.aclose()
    contender.http = httpx.AsyncClient(
        base_url="http://127.0.0.1:9", transport=httpx.MockTransport(recorder)
    )
    try:
        yield Client(contender), recorder
    finally:
        await contender.aclose()


@pytest.mark.anyio
async def test_a_batch_of_session_next_never_starts_its_session_on_the_record() -> None:
    async with _recorded() as (client, recorder):
        await client.prepare("session-next", 3)  # no session yet: one is started
        assert len(recorder.bodies) == 1
        first = recorder.bodies[0]
        assert first["session_id"] == client.session
        assert len(first["messages"]) == 1
        for _ in range(3):
            await client.session_next()
        assert len(recorder.bodies) == 4
        assert {body["session_id"] for body in recorder.bodies} == {client.session}
        assert all(len(body["messages"]) == 1 for body in recorder.bodies)
        await client.prepare("session-next", 3)  # 4 turns + 3 > 10 would not fit: 7 do
        assert len(recorder.bodies) == 4
        await client.prepare("session-next", 7)
        assert len(recorder.bodies) == 5
        assert recorder.bodies[-1]["session_id"] != recorder.bodies[0]["session_id"]
        await client.prepare("follow-up", 3)
        assert len(recorder.bodies) == 6
        for _ in range(3):
            await client.follow_up()
        assert len(recorder.bodies) == 9  # the batch itself started nothing
        assert len(recorder.bodies[-1]["messages"]) == 7


@pytest.mark.anyio
async def test_a_few_shot_chat_carries_the_examples_then_its_own_unheld_turns() -> None:
    async with _recorded() as (client, recorder):
        await client.few_shot_chat()
        await client.few_shot_chat()
        first, second = (body["messages"] for body in recorder.bodies)
        assert first[: len(EXAMPLES)] == second[: len(EXAMPLES)] == EXAMPLES
        chat = first[len(EXAMPLES) :]
        assert [m["role"] for m in chat] == ["user", "assistant", "user", "assistant", "user"]
        assert chat[0] != second[len(EXAMPLES)]  # each chat's own turns are new
        assert INSTANT_MARKER in chat[-1]["content"]


def test_a_variant_s_concurrency_levels_are_reported_beside_pooled_s() -> None:
    def level(rate: float, cpu: float) -> dict[str, float]:
        return {"requests_per_s": rate, "p50_s": 0.5, "p90_s": 0.6, "cpu_s_per_request": cpu}

    result: dict[str, Any] = {
        "scenarios": {
            "one-shot": {
                "pooled": {**_entry(0.05, 0.05), "samples": 9},
                "cold": {**_entry(0.5, 0.5), "samples": 9},
            }
        },
        "concurrency": {"16": level(25.0, 0.06)},
        "concurrency_variants": {"unpaced": {"16": level(20.0, 0.07)}},
    }
    result["warm_up_spawned"] = {"pooled": 2, "unpaced": 1}
    text = conversations.report(result)
    assert "Pool starts in the warm-up round (off the record): pooled 2, unpaced 1." in text
    assert "| concurrency | unpaced req/s | pooled req/s | unpaced / pooled " in text
    assert "| 16 | 20.0 | 25.0 | 0.80x | 0.070 | 0.060 | 0 |" in text


def test_the_gated_restart_reports_readiness_and_its_first_request() -> None:
    gated = {
        "healthy_after_s": 2.5,
        "ready_after_s": 3.1,
        "first_latency_s": 0.085,
        "first_cpu_s": 0.12,
        "processes": 2,
        "spawned": 2,
    }
    text = after_restart.gated_report(gated)
    assert "healthy after 2.50 s, ready after 3.10 s" in text
    assert "its first request 85 ms, 0.120 CPU-s, 2 spawned so far" in text
