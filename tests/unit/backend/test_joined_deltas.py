"""A non-streamed turn's deltas, joined per block; the turn's first delta passed at once."""

from __future__ import annotations

import pytest

from tests.unit.backend.test_sdk_events import (
    SESSION,
    STARTED,
    STREAM_USAGE,
    block_start,
    block_stop,
    delta,
    json_delta,
    message_delta,
    message_start,
    message_stop,
    play,
    result,
    text_delta,
    text_reply,
)
from wrapper.backend.joined_deltas import DeltaJoiner
from wrapper.backend.sdk_events import TurnReader
from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    MessageStart,
    SignatureDelta,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    TurnEnd,
)


def test_a_text_turn_keeps_its_first_delta_and_joins_the_rest() -> None:
    reader = TurnReader(model="claude-x", join_deltas=True)
    events = play(reader, [*text_reply("Hel", "lo", ", wor", "ld"), result()])
    assert events == [
        MessageStart(model="claude-x", usage=STARTED),
        BlockStart(index=0, type="text"),
        TextDelta(index=0, text="Hel"),
        TextDelta(index=0, text="lo, world"),
        BlockStop(index=0),
        TurnEnd(
            stop_reason="end_turn",
            usage=STREAM_USAGE,
            model="claude-x",
            cost_usd=0.0123,
            session_id=SESSION,
        ),
    ]


def test_deltas_are_held_until_something_else_comes() -> None:
    reader = TurnReader(model="m", join_deltas=True)
    assert play(reader, [message_start(), block_start(0, {"type": "text", "text": ""})]) == [
        MessageStart(model="m", usage=STARTED),
        BlockStart(index=0, type="text"),
    ]
    # The first delta of the turn goes on at once: it is what the time to the first
    # token measures, and what tells a retry that output has started.
    assert reader.feed(text_delta(0, "a")) == [TextDelta(index=0, text="a")]
    assert reader.feed(text_delta(0, "b")) == []
    assert reader.feed(text_delta(0, "c")) == []
    assert reader.feed(block_stop(0)) == [TextDelta(index=0, text="bc"), BlockStop(index=0)]


def test_thinking_signature_and_text_are_joined_each_in_its_own_block() -> None:
    events = play(
        TurnReader(model="m", join_deltas=True),
        [
            message_start(),
            block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(0, {"type": "thinking_delta", "thinking": "hm"}),
            delta(0, {"type": "thinking_delta", "thinking": "m, "}),
            delta(0, {"type": "thinking_delta", "thinking": "yes"}),
            delta(0, {"type": "signature_delta", "signature": "c2ln"}),
            block_stop(0),
            *text_reply("o", "k", "!")[1:],
            result(),
        ],
    )
    assert events[1:9] == [
        BlockStart(index=0, type="thinking"),
        ThinkingDelta(index=0, thinking="hm"),
        ThinkingDelta(index=0, thinking="m, yes"),
        SignatureDelta(index=0, signature="c2ln"),
        BlockStop(index=0),
        BlockStart(index=1, type="text"),
        TextDelta(index=1, text="ok!"),
        BlockStop(index=1),
    ]


def test_a_client_tool_call_gets_its_whole_input_before_the_turn_ends() -> None:
    reader = TurnReader(model="m", client_tools=["get_weather"], join_deltas=True)
    events = play(
        reader,
        [
            message_start(),
            block_start(0, {"type": "text", "text": ""}),
            text_delta(0, "Checking."),
            block_stop(0),
            block_start(1, {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                            "input": {}}),
            json_delta(1, ""),
            json_delta(1, '{"city":'),
            json_delta(1, '"Paris"}'),
            block_stop(1),
            message_delta("tool_use", output_tokens=20),
            message_stop(),
        ],
    )  # fmt: skip
    assert reader.done
    assert events[2:8] == [
        TextDelta(index=0, text="Checking."),
        BlockStop(index=0),
        BlockStart(index=1, type="tool_use", tool_id="toolu_1", tool_name="get_weather"),
        ToolInputDelta(index=1, partial_json='{"city":"Paris"}'),
        BlockStop(index=1),
        events[-1],
    ]
    assert isinstance(events[-1], TurnEnd) and events[-1].stop_reason == "tool_use"


def test_a_turn_that_ends_inside_a_block_hands_on_what_was_held() -> None:
    # The CLI's result closes a block it never stopped: the held text comes first.
    reader = TurnReader(model="m", join_deltas=True)
    events = play(
        reader,
        [
            message_start(),
            block_start(0, {"type": "text", "text": ""}),
            text_delta(0, "one "),
            text_delta(0, "two "),
            text_delta(0, "three"),
            result(),
        ],
    )
    assert reader.done
    assert [type(e).__name__ for e in events] == [
        "MessageStart", "BlockStart", "TextDelta", "TextDelta", "BlockStop", "TurnEnd",
    ]  # fmt: skip
    assert events[3] == TextDelta(index=0, text="two three")


@pytest.mark.parametrize(
    "pieces",
    [["x"], ["a", "b"], ["", "a", "", "b", ""], [str(i) for i in range(200)]],
)
def test_the_joined_text_is_the_streamed_text(pieces: list[str]) -> None:
    streamed = play(TurnReader(model="m"), [*text_reply(*pieces), result()])
    joined = play(TurnReader(model="m", join_deltas=True), [*text_reply(*pieces), result()])

    def text(events: list[AgentEvent]) -> str:
        return "".join(e.text for e in events if isinstance(e, TextDelta))

    assert text(joined) == text(streamed) == "".join(pieces)
    assert len([e for e in joined if isinstance(e, TextDelta)]) <= 2
    assert [e for e in joined if not isinstance(e, TextDelta)] == [
        e for e in streamed if not isinstance(e, TextDelta)
    ]


def test_the_joiner_never_joins_across_blocks_or_kinds() -> None:
    joiner = DeltaJoiner()
    first = TextDelta(index=0, text="a")
    events: list[AgentEvent] = [
        first,
        TextDelta(index=0, text="b"),
        TextDelta(index=1, text="c"),
        TextDelta(index=1, text="d"),
        ThinkingDelta(index=1, thinking="e"),
        ToolInputDelta(index=1, partial_json="f"),
        ToolInputDelta(index=1, partial_json="g"),
    ]
    out = joiner.join(events, final=False)
    assert out[0] is first
    assert out[1:] == [
        TextDelta(index=0, text="b"),
        TextDelta(index=1, text="cd"),
        ThinkingDelta(index=1, thinking="e"),
    ]
    assert joiner.join([], final=True) == [ToolInputDelta(index=1, partial_json="fg")]
    assert joiner.join([], final=True) == []


def test_a_lone_delta_in_a_run_is_handed_on_as_it_came() -> None:
    joiner = DeltaJoiner()
    joiner.join([TextDelta(index=0, text="first")], final=False)
    second = TextDelta(index=0, text="second")
    assert joiner.join([second], final=False) == []
    assert joiner.join([BlockStop(index=0)], final=False)[0] is second
