"""``context_management.applied_edits``: what the edits cleared, reported in the message and
in the stream's ``message_delta`` as Anthropic's API does, only when the request asked."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from anthropic.types.beta import BetaMessage, BetaRawMessageDeltaEvent

from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    MessageStart,
    TextDelta,
    TurnEnd,
    Usage,
)
from wrapper.schemas import anthropic_output as ao
from wrapper.translate.anthropic.context_edits import apply_context_edits
from wrapper.translate.anthropic.response import MessageCollector, StreamTranslator

from .test_agent_fields import (
    THREE_THINKING_TURNS,
    _conversation_with_tools,
    build,
    claude_code_body,
)

EVENTS: list[AgentEvent] = [
    MessageStart(model="claude-x"),
    BlockStart(index=0, type="text"),
    TextDelta(index=0, text="ok"),
    BlockStop(index=0),
    TurnEnd(stop_reason="end_turn", usage=Usage(input_tokens=3, output_tokens=1), model="m"),
]


def wire(value: Any) -> Any:
    return json.loads(msgspec.json.encode(value))


def test_each_edit_that_cleared_something_is_reported_with_its_counts() -> None:
    messages = THREE_THINKING_TURNS[:-1] + _conversation_with_tools("Read", "Read", "Read")
    outcome = apply_context_edits(
        messages,
        [
            {"type": "clear_thinking_20251015"},
            {
                "type": "clear_tool_uses_20250919",
                "trigger": {"type": "tool_uses", "value": 1},
                "keep": {"type": "tool_uses", "value": 1},
            },
        ],
    )
    assert outcome.applied == (
        ao.ClearThinkingApplied(cleared_thinking_turns=2),
        ao.ClearToolUsesApplied(cleared_tool_uses=2),
    )


def test_edits_that_cleared_nothing_are_not_reported() -> None:
    outcome = apply_context_edits(
        _conversation_with_tools("Read"),
        [
            {"type": "clear_thinking_20251015", "keep": "all"},
            {"type": "clear_tool_uses_20250919", "trigger": {"type": "tool_uses", "value": 3}},
            {"type": "clear_tool_uses_20250919"},
        ],
    )
    assert outcome.applied == ()


def test_the_turn_carries_the_report_only_when_context_management_was_sent() -> None:
    assert build(claude_code_body(context_management=None)).context_management is None
    asked = build(
        claude_code_body(context_management={"edits": [{"type": "clear_thinking_20251015"}]})
    )
    assert asked.context_management == ao.ContextManagementOut(applied_edits=[])


def _applied() -> ao.ContextManagementOut:
    return ao.ContextManagementOut(
        applied_edits=[
            ao.ClearToolUsesApplied(cleared_tool_uses=4),
            ao.ClearThinkingApplied(cleared_thinking_turns=1),
        ]
    )


EXPECTED = {
    "applied_edits": [
        {"type": "clear_tool_uses_20250919", "cleared_tool_uses": 4, "cleared_input_tokens": 0},
        {"type": "clear_thinking_20251015", "cleared_thinking_turns": 1, "cleared_input_tokens": 0},
    ]
}


def test_the_message_reports_the_applied_edits() -> None:
    collector = MessageCollector("msg_1", "m", context_management=_applied())
    for event in EVENTS:
        collector.add(event)
    body = wire(collector.message())
    assert body["context_management"] == EXPECTED
    parsed = BetaMessage.model_validate(body)
    assert parsed.context_management is not None
    assert [edit.type for edit in parsed.context_management.applied_edits] == [
        "clear_tool_uses_20250919",
        "clear_thinking_20251015",
    ]


def test_the_stream_reports_them_in_message_delta_only() -> None:
    translator = StreamTranslator("msg_1", "m", context_management=_applied())
    stream = [wire(e) for event in EVENTS for e in translator.translate(event)]
    carrying = [e["type"] for e in stream if "context_management" in e]
    assert carrying == ["message_delta"]
    delta = next(e for e in stream if e["type"] == "message_delta")
    assert delta["context_management"] == EXPECTED
    BetaRawMessageDeltaEvent.model_validate(delta)
    assert "context_management" not in stream[0]["message"]


def test_nothing_is_reported_when_not_asked() -> None:
    collector = MessageCollector("msg_1", "m")
    translator = StreamTranslator("msg_1", "m")
    stream: list[Any] = []
    for event in EVENTS:
        collector.add(event)
        stream += [wire(e) for e in translator.translate(event)]
    assert "context_management" not in wire(collector.message())
    assert all("context_management" not in e for e in stream)
