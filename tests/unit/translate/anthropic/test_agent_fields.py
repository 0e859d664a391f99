"""The fields Claude Code sends to ``/v1/messages`` by default, and their fates.

The bodies here have the shape Claude Code 2.1.330 gives its requests (captured
against this server; the texts are ours): thinking on with ``display`` set,
``context_management`` edits, a system turn with a per-turn ``output_config``
after the user message, a ``defer_loading`` placeholder tool, ``metadata.user_id``
holding JSON, and a string of ``anthropic-beta`` values.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from wrapper.errors import InvalidRequestError
from wrapper.events import (
    Message,
    TextPart,
    ThinkingConfig,
    ThinkingPart,
    ToolResultPart,
    ToolUsePart,
)
from wrapper.schemas.anthropic import COUNT_TOKENS_DECODER, REQUEST_DECODER
from wrapper.translate.anthropic.betas import ignored_header
from wrapper.translate.anthropic.context_edits import CLEARED_RESULT, apply_context_edits
from wrapper.translate.anthropic.request import (
    MessagesTurn,
    check_count_tokens_request,
    messages_request_to_turn,
)

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"path": {"type": "string"}}}
BETAS = (
    "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
    "per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,"
    "thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24"
)


def claude_code_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-opus-5-5",
        "max_tokens": 128000,
        "stream": True,
        "metadata": {"user_id": '{"device_id":"abc","session_id":"s-1"}'},
        "system": [
            {"type": "text", "text": "billing line"},
            {"type": "text", "text": "You are an agent.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "<system-reminder>\nhouse rules\n</system-reminder>\n",
                    },
                    {"type": "text", "text": "hello there"},
                ],
            },
            {
                "role": "system",
                "content": [{"type": "text", "text": "# Environment\ncwd: /work"}],
                "output_config": {"effort": "medium"},
            },
        ],
        "tools": [
            {"name": "Read", "description": "Read a file", "input_schema": SCHEMA},
            {
                "name": "DeferredToolPlaceholder",
                "description": "never call this tool",
                "input_schema": {"type": "object", "properties": {}},
                "defer_loading": True,
            },
        ],
        "thinking": {"type": "adaptive", "display": "omitted"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
    }
    body.update(changes)
    return body


def build(body: dict[str, Any], headers: dict[str, str] | None = None) -> MessagesTurn:
    request = REQUEST_DECODER.decode(msgspec.json.encode(body))
    return messages_request_to_turn(request, default_model="claude-default", headers=headers or {})


def test_a_default_claude_code_request_is_accepted() -> None:
    built = build(claude_code_body())
    turn = built.turn
    assert turn.thinking == ThinkingConfig(mode="adaptive")
    assert turn.system == "billing line\n\nYou are an agent."
    assert built.ignored == ()


def test_the_system_turn_after_the_user_message_reaches_the_model_in_that_turn() -> None:
    turn = build(claude_code_body()).turn
    assert len(turn.messages) == 1
    texts = [part.text for part in turn.messages[0].content if isinstance(part, TextPart)]
    assert texts[1] == "hello there"
    assert texts[2] == "<system-reminder>\n# Environment\ncwd: /work\n</system-reminder>"


def test_the_system_turns_effort_is_this_turns_effort() -> None:
    assert build(claude_code_body()).turn.effort == "medium"
    plain = claude_code_body()
    plain["messages"] = plain["messages"][:1]
    assert build(plain).turn.effort == "high"


@pytest.mark.parametrize("display", ["omitted", "summarized", "updates"])
def test_every_thinking_display_claude_code_sends_is_accepted(display: str) -> None:
    turn = build(claude_code_body(thinking={"type": "adaptive", "display": display})).turn
    assert turn.thinking == ThinkingConfig(mode="adaptive")


def test_a_deferred_tool_is_offered_only_once_a_tool_reference_loads_it() -> None:
    assert [tool.name for tool in build(claude_code_body()).turn.tools] == ["Read"]
    body = claude_code_body()
    body["messages"] = [
        {"role": "user", "content": "find the tool"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "tool_reference", "tool_name": "DeferredToolPlaceholder"}],
                }
            ],
        },
    ]
    turn = build(body).turn
    assert [tool.name for tool in turn.tools] == ["Read", "DeferredToolPlaceholder"]
    result = turn.messages[-1].content[0]
    assert result == ToolResultPart(
        tool_use_id="t1", content=(TextPart(text="Tool loaded: DeferredToolPlaceholder"),)
    )


def test_system_turns_add_and_remove_tools() -> None:
    body = claude_code_body()
    added = {"name": "Grep", "description": "Search", "input_schema": SCHEMA}
    body["messages"].append(
        {
            "role": "system",
            "content": [
                {"type": "tool_addition", "tool": {"type": "tool_definition", "definition": added}},
                {"type": "tool_removal", "tool": {"type": "tool_reference", "name": "Read"}},
            ],
        }
    )
    assert [tool.name for tool in build(body).turn.tools] == ["Grep"]


def test_a_system_turn_cleared_at_the_next_user_message_is_dropped_once_one_follows() -> None:
    body = claude_code_body()
    body["messages"] = [
        {"role": "user", "content": "first"},
        {
            "role": "system",
            "content": "only until the user speaks",
            "clear_at": "next_user_message",
        },
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]
    turn = build(body).turn
    assert all("only until" not in str(message.content) for message in turn.messages)


def test_a_system_message_before_the_conversation_extends_the_system_prompt() -> None:
    body = claude_code_body(system="base")
    body["messages"] = [{"role": "system", "content": "more"}, {"role": "user", "content": "hi"}]
    assert build(body).turn.system == "base\n\nmore"


def test_betas_without_fields_of_their_own_here_are_reported_as_ignored() -> None:
    header = ignored_header((), {"anthropic-beta": BETAS})
    assert header == [("x-ignored-fields", "anthropic-beta:thinking-token-count-2026-05-13")]
    assert ignored_header((), {}) == []


# --------------------------------------------------------------------------------------
# Context edits


def _thinking_turn(text: str) -> Message:
    return Message(
        role="assistant",
        content=(ThinkingPart(thinking=text, signature=f"sig-{text}"), TextPart(text=text)),
    )


def _user(text: str) -> Message:
    return Message(role="user", content=(TextPart(text=text),))


THREE_THINKING_TURNS = (
    _user("a"),
    _thinking_turn("one"),
    _user("b"),
    _thinking_turn("two"),
    _user("c"),
    _thinking_turn("three"),
    _user("d"),
)


def _thinking_left(messages: tuple[Message, ...]) -> list[str]:
    return [
        part.thinking
        for message in messages
        for part in message.content
        if isinstance(part, ThinkingPart)
    ]


@pytest.mark.parametrize(
    ("edit", "left"),
    [
        ({"type": "clear_thinking_20251015", "keep": "all"}, ["one", "two", "three"]),
        ({"type": "clear_thinking_20251015"}, ["three"]),
        (
            {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 2}},
            ["two", "three"],
        ),
        (
            {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 0}},
            [],
        ),
    ],
)
def test_clear_thinking_keeps_the_last_turns_asked_for(
    edit: dict[str, Any], left: list[str]
) -> None:
    outcome = apply_context_edits(THREE_THINKING_TURNS, [edit])
    assert _thinking_left(outcome.messages) == left
    assert outcome.ignored == ()


def _tool_round(call_id: str, name: str) -> tuple[Message, Message]:
    call = Message(
        role="assistant", content=(ToolUsePart(id=call_id, name=name, input={"q": call_id}),)
    )
    result = Message(
        role="user", content=(ToolResultPart(tool_use_id=call_id, content=(TextPart(text="r"),)),)
    )
    return call, result


def _conversation_with_tools(*names: str) -> tuple[Message, ...]:
    messages: list[Message] = [_user("start")]
    for index, name in enumerate(names):
        messages.extend(_tool_round(f"c{index}", name))
    return tuple(messages)


def _cleared_ids(messages: tuple[Message, ...]) -> list[str]:
    return [
        part.tool_use_id
        for message in messages
        for part in message.content
        if isinstance(part, ToolResultPart) and part.content == (TextPart(text=CLEARED_RESULT),)
    ]


def test_clear_tool_uses_past_the_trigger_keeps_the_last_ones_and_excluded_tools() -> None:
    messages = _conversation_with_tools("Read", "Bash", "Read", "Read", "Read")
    edit = {
        "type": "clear_tool_uses_20250919",
        "trigger": {"type": "tool_uses", "value": 4},
        "keep": {"type": "tool_uses", "value": 2},
        "exclude_tools": ["Bash"],
        "clear_tool_inputs": True,
    }
    outcome = apply_context_edits(messages, [edit])
    assert _cleared_ids(outcome.messages) == ["c0", "c2"]
    calls = [part for m in outcome.messages for part in m.content if isinstance(part, ToolUsePart)]
    assert [call.input for call in calls] == [{}, {"q": "c1"}, {}, {"q": "c3"}, {"q": "c4"}]


def test_clear_tool_uses_under_the_trigger_changes_nothing() -> None:
    messages = _conversation_with_tools("Read", "Read")
    edit = {"type": "clear_tool_uses_20250919", "trigger": {"type": "tool_uses", "value": 2}}
    assert apply_context_edits(messages, [edit]).messages == messages


def test_what_cannot_be_measured_here_is_reported_as_ignored() -> None:
    messages = _conversation_with_tools("Read", "Read", "Read", "Read", "Read")
    edits: list[dict[str, Any]] = [
        {"type": "clear_tool_uses_20250919"},
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "tool_uses", "value": 1},
            "clear_at_least": {"type": "input_tokens", "value": 5000},
        },
        {"type": "compact_20260112"},
    ]
    outcome = apply_context_edits(messages, edits)
    assert outcome.ignored == (
        "context_management.edits[0].trigger",
        "context_management.edits[1].clear_at_least",
        "context_management.edits[2]",
    )
    assert _cleared_ids(outcome.messages) == ["c0", "c1"]


def test_ignored_edit_fields_reach_the_response_header() -> None:
    body = claude_code_body(context_management={"edits": [{"type": "clear_tool_uses_20250919"}]})
    built = build(body)
    assert built.ignored == ("context_management.edits[0].trigger",)


@pytest.mark.parametrize(
    ("edit", "param"),
    [
        ({"type": "clear_thinking_20251015", "keep": {"type": "tool_uses", "value": 1}}, "keep"),
        ({"type": "clear_tool_uses_20250919", "trigger": {"type": "tool_uses"}}, "trigger"),
        (
            {
                "type": "clear_tool_uses_20250919",
                "trigger": {"type": "tool_uses", "value": 1},
                "exclude_tools": "Bash",
            },
            "context_management.edits[0]",
        ),
    ],
)
def test_a_malformed_edit_is_a_400_naming_it(edit: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        build(claude_code_body(context_management={"edits": [edit]}))
    assert caught.value.param is not None
    assert caught.value.param.startswith("context_management.edits[0]")
    assert param in caught.value.param


def test_count_tokens_takes_a_claude_code_body() -> None:
    body = claude_code_body()
    for field in ("max_tokens", "stream", "metadata"):
        body.pop(field)
    check_count_tokens_request(COUNT_TOKENS_DECODER.decode(msgspec.json.encode(body)))
