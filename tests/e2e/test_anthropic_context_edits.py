"""``context_management`` edits through the real chain (anthropic client -> server -> SDK ->
CLI -> fake upstream): applied before the turn, reported in ``applied_edits``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream
from wrapper.translate.anthropic.context_edits import CLEARED_RESULT

pytestmark = pytest.mark.e2e

MODEL = "claude-sonnet-4-6"
BETA = "context-management-2025-06-27"
WEATHER: Any = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
EDITS: Any = {
    "edits": [
        {"type": "clear_thinking_20251015"},
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "tool_uses", "value": 1},
            "keep": {"type": "tool_uses", "value": 1},
        },
    ]
}
APPLIED = [
    {"type": "clear_thinking_20251015", "cleared_thinking_turns": 1, "cleared_input_tokens": 0},
    {"type": "clear_tool_uses_20250919", "cleared_tool_uses": 1, "cleared_input_tokens": 0},
]


def marker() -> str:
    return f"X{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(server: ServerProcess) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0) as client:
        yield client


def _round(call_id: str, city: str) -> list[Any]:
    return [
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": f"Ask {city}.", "signature": f"sig-{call_id}"},
                {"type": "tool_use", "id": call_id, "name": "get_weather", "input": {"city": city}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call_id, "content": f"sunny in {city}"}
            ],
        },
    ]


def conversation(tag: str) -> list[Any]:
    messages = [
        {"role": "user", "content": f"Weather in Oslo and Rome? {tag}"},
        *_round("toolu_x1", "Oslo"),
        *_round("toolu_x2", "Rome"),
    ]
    messages[-1]["content"].append({"type": "text", "text": "Summarise."})
    return messages


def test_applied_edits_are_reported_in_both_modes_and_the_edits_reach_the_model(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    whole = client.beta.messages.create(
        model=MODEL,
        max_tokens=2000,
        messages=conversation(tag),
        tools=[WEATHER],
        context_management=EDITS,
        betas=[BETA],
    )
    assert whole.context_management is not None
    assert [edit.model_dump() for edit in whole.context_management.applied_edits] == APPLIED
    sent = json.dumps(upstream.recorded(tag)[-1].body["messages"])
    assert CLEARED_RESULT in sent
    assert "sunny in Oslo" not in sent and "sunny in Rome" in sent
    assert "Ask Oslo." not in sent and "Ask Rome." in sent

    with client.beta.messages.stream(
        model=MODEL,
        max_tokens=2000,
        messages=conversation(tag),
        tools=[WEATHER],
        context_management=EDITS,
        betas=[BETA],
    ) as stream:
        deltas = [event for event in stream if event.type == "message_delta"]
        final = stream.get_final_message()
    (delta,) = deltas
    assert delta.context_management is not None
    assert final.context_management is not None
    assert [edit.model_dump() for edit in final.context_management.applied_edits] == APPLIED


def test_no_report_without_context_management(
    client: anthropic.Anthropic, upstream: FakeUpstream
) -> None:
    tag = marker()
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=2000, messages=conversation(tag), tools=[WEATHER]
    )
    assert "context_management" not in json.loads(raw.http_response.text)
