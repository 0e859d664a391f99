"""TurnReader fed with recorded SDK messages (real claude_agent_sdk dataclasses, not mocks)."""

from __future__ import annotations

from typing import Any

import pytest
from claude_agent_sdk import (
    AssistantMessage,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ToolResultBlock,
    UserMessage,
)
from claude_agent_sdk import Message as SdkMessage
from claude_agent_sdk.types import AssistantMessageError

from wrapper.backend.sdk_events import TurnReader, usage_from
from wrapper.errors import (
    UpstreamAuthenticationError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamRateLimitedError,
    WrapperError,
)
from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    MessageStart,
    SignatureDelta,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    ToolStep,
    TurnEnd,
    Usage,
)

SESSION = "6f1c1f9e-0000-4000-8000-000000000001"


def ev(event: dict[str, Any], parent: str | None = None) -> StreamEvent:
    return StreamEvent(uuid="u", session_id=SESSION, event=event, parent_tool_use_id=parent)


START_USAGE = {"input_tokens": 10, "cache_read_input_tokens": 4, "cache_creation_input_tokens": 2}


def message_start(usage: dict[str, int] | None = None) -> StreamEvent:
    return ev({"type": "message_start", "message": {"usage": usage or START_USAGE}})


def block_start(index: int, block: dict[str, Any]) -> StreamEvent:
    return ev({"type": "content_block_start", "index": index, "content_block": block})


def delta(index: int, body: dict[str, Any]) -> StreamEvent:
    return ev({"type": "content_block_delta", "index": index, "delta": body})


def text_delta(index: int, text: str) -> StreamEvent:
    return delta(index, {"type": "text_delta", "text": text})


def json_delta(index: int, partial: str) -> StreamEvent:
    return delta(index, {"type": "input_json_delta", "partial_json": partial})


def block_stop(index: int) -> StreamEvent:
    return ev({"type": "content_block_stop", "index": index})


def message_delta(stop_reason: str, output_tokens: int = 5) -> StreamEvent:
    return ev(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
    )


def message_stop() -> StreamEvent:
    return ev({"type": "message_stop"})


def result(**kwargs: Any) -> ResultMessage:
    fields: dict[str, Any] = {
        "subtype": "success",
        "duration_ms": 12,
        "duration_api_ms": 10,
        "is_error": False,
        "num_turns": 1,
        "session_id": SESSION,
        "stop_reason": "end_turn",
        "total_cost_usd": 0.0123,
        "usage": {
            "input_tokens": 11,
            "output_tokens": 6,
            "cache_read_input_tokens": 4,
            "cache_creation_input_tokens": 2,
        },
    }
    fields.update(kwargs)
    return ResultMessage(**fields)


# What Claude's stream reports for one API call: message_start, then message_delta.
STARTED = Usage(input_tokens=10, cache_read_input_tokens=4, cache_creation_input_tokens=2)
STREAM_USAGE = Usage(
    input_tokens=10, output_tokens=5, cache_read_input_tokens=4, cache_creation_input_tokens=2
)
# What the CLI's result message reports (see result()).
RESULT_USAGE = Usage(
    input_tokens=11, output_tokens=6, cache_read_input_tokens=4, cache_creation_input_tokens=2
)


def play(reader: TurnReader, messages: list[SdkMessage]) -> list[AgentEvent]:
    events: list[AgentEvent] = []
    for message in messages:
        events += reader.feed(message)
    return events


def text_reply(*pieces: str, stop_reason: str = "end_turn") -> list[SdkMessage]:
    return [
        message_start(),
        block_start(0, {"type": "text", "text": ""}),
        *(text_delta(0, piece) for piece in pieces),
        block_stop(0),
        message_delta(stop_reason),
        message_stop(),
    ]


def test_a_text_turn() -> None:
    reader = TurnReader(model="claude-x")
    events = play(
        reader,
        [
            SystemMessage(subtype="init", data={"session_id": SESSION}),
            *text_reply("Hel", "lo"),
            AssistantMessage(content=[TextBlock(text="Hello")], model="claude-x"),
            result(),
        ],
    )
    assert events == [
        MessageStart(model="claude-x", usage=STARTED),
        BlockStart(index=0, type="text"),
        TextDelta(index=0, text="Hel"),
        TextDelta(index=0, text="lo"),
        BlockStop(index=0),
        TurnEnd(
            stop_reason="end_turn",
            usage=STREAM_USAGE,
            model="claude-x",
            cost_usd=0.0123,
            session_id=SESSION,
        ),
    ]
    assert reader.done
    assert reader.feed(result()) == []


def test_the_stop_reason_comes_from_the_result() -> None:
    events = play(TurnReader(model="m"), [*text_reply("x"), result(stop_reason="max_tokens")])
    assert isinstance(events[-1], TurnEnd)
    assert events[-1].stop_reason == "max_tokens"


def test_an_unknown_stop_reason_becomes_end_turn() -> None:
    events = play(TurnReader(model="m"), [*text_reply("x"), result(stop_reason="brand_new")])
    assert isinstance(events[-1], TurnEnd)
    assert events[-1].stop_reason == "end_turn"


def test_usage_comes_from_the_stream_of_this_turn() -> None:
    # The result's usage may also count calls an earlier response reported (a parked
    # tool turn that continues), so the stream's own figures win.
    events = play(
        TurnReader(model="m"),
        [*text_reply("x"), result(usage={"input_tokens": 999, "output_tokens": 999})],
    )
    assert isinstance(events[-1], TurnEnd)
    assert events[-1].usage == STREAM_USAGE


def test_a_turn_with_no_stream_takes_the_result_usage() -> None:
    events = play(TurnReader(model="m"), [result()])
    assert isinstance(events[-1], TurnEnd)
    assert events[-1].usage == RESULT_USAGE


def test_cost_is_what_this_turn_added() -> None:
    reader = TurnReader(model="m", cost_before=0.01)
    events = play(reader, [*text_reply("x"), result(total_cost_usd=0.0123)])
    assert isinstance(events[-1], TurnEnd)
    assert events[-1].cost_usd == pytest.approx(0.0023)


def test_text_in_the_block_start_is_not_lost() -> None:
    reader = TurnReader(model="m")
    events = play(reader, [message_start(), block_start(0, {"type": "text", "text": "Hi"})])
    assert events[-1] == TextDelta(index=0, text="Hi")


def test_a_client_tool_call_ends_the_turn_at_message_stop() -> None:
    reader = TurnReader(model="m", client_tools=["get_weather"])
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
    assert events[4:] == [
        BlockStart(index=1, type="tool_use", tool_id="toolu_1", tool_name="get_weather"),
        ToolInputDelta(index=1, partial_json=""),
        ToolInputDelta(index=1, partial_json='{"city":'),
        ToolInputDelta(index=1, partial_json='"Paris"}'),
        BlockStop(index=1),
        TurnEnd(
            stop_reason="tool_use",
            usage=Usage(
                input_tokens=10,
                output_tokens=20,
                cache_read_input_tokens=4,
                cache_creation_input_tokens=2,
            ),
            model="m",
            session_id=SESSION,
        ),
    ]
    # Whatever the CLI does next (it would run the tool) is not the client's business.
    assert reader.feed(message_start()) == []


def test_tools_claude_code_runs_itself_are_hidden_and_blocks_renumbered() -> None:
    reader = TurnReader(model="m", client_tools=["mine"])
    events = play(
        reader,
        [
            message_start(),
            block_start(0, {"type": "text", "text": ""}),
            text_delta(0, "a"),
            block_stop(0),
            block_start(1, {"type": "tool_use", "id": "toolu_s", "name": "Bash", "input": {}}),
            json_delta(1, '{"command": "ls"}'),
            block_stop(1),
            message_delta("tool_use"),
            message_stop(),
            # The CLI ran Bash and asks the model again: a second API message.
            message_start({"input_tokens": 30}),
            block_start(0, {"type": "text", "text": ""}),
            text_delta(0, "b"),
            block_stop(0),
            message_delta("end_turn", output_tokens=7),
            message_stop(),
            result(usage=None),
        ],
    )
    assert not any(isinstance(e, ToolInputDelta) for e in events)
    assert [e for e in events if isinstance(e, BlockStart)] == [
        BlockStart(index=0, type="text"),
        BlockStart(index=1, type="text"),
    ]
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta(index=0, text="a"),
        TextDelta(index=1, text="b"),
    ]
    assert sum(isinstance(e, MessageStart) for e in events) == 1
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert end.usage == Usage(
        input_tokens=40, output_tokens=12, cache_read_input_tokens=4, cache_creation_input_tokens=2
    )


def test_without_parallel_tool_calls_only_the_first_call_is_shown() -> None:
    reader = TurnReader(model="m", client_tools=["f"], parallel_tool_calls=False)
    events = play(
        reader,
        [
            message_start(),
            block_start(0, {"type": "tool_use", "id": "t1", "name": "f", "input": {}}),
            json_delta(0, "{}"),
            block_stop(0),
            block_start(1, {"type": "tool_use", "id": "t2", "name": "f", "input": {}}),
            json_delta(1, "{}"),
            block_stop(1),
            message_delta("tool_use"),
            message_stop(),
        ],
    )
    starts = [e for e in events if isinstance(e, BlockStart)]
    assert [s.tool_id for s in starts] == ["t1"]
    assert isinstance(events[-1], TurnEnd)


def test_thinking_signatures_and_redacted_thinking() -> None:
    events = play(
        TurnReader(model="m"),
        [
            message_start(),
            block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(0, {"type": "thinking_delta", "thinking": "hmm"}),
            delta(0, {"type": "signature_delta", "signature": "c2ln"}),
            block_stop(0),
            block_start(1, {"type": "redacted_thinking", "data": "opaque"}),
            block_stop(1),
            *text_reply("ok")[1:],
            result(),
        ],
    )
    assert events[1:8] == [
        BlockStart(index=0, type="thinking"),
        ThinkingDelta(index=0, thinking="hmm"),
        SignatureDelta(index=0, signature="c2ln"),
        BlockStop(index=0),
        BlockStart(index=1, type="redacted_thinking", data="opaque"),
        BlockStop(index=1),
        BlockStart(index=2, type="text"),
    ]


def test_subagent_events_are_ignored() -> None:
    reader = TurnReader(model="m")
    assert reader.feed(ev({"type": "message_start", "message": {}}, parent="toolu_x")) == []
    assert not reader.started


def test_structured_output_replaces_the_text_with_the_json_value() -> None:
    reader = TurnReader(model="m", structured_output=True)
    events = play(
        reader,
        [
            message_start(),
            block_start(0, {"type": "text", "text": ""}),
            text_delta(0, "Here you go"),
            block_stop(0),
            block_start(1, {"type": "tool_use", "id": "t", "name": "StructuredOutput",
                            "input": {}}),
            json_delta(1, '{"a": 1}'),
            block_stop(1),
            message_delta("tool_use"),
            message_stop(),
            result(structured_output={"a": 1}, stop_reason="tool_use"),
        ],
    )  # fmt: skip
    assert events == [
        MessageStart(model="m", usage=STARTED),
        BlockStart(index=0, type="text"),
        TextDelta(index=0, text='{"a": 1}'),
        BlockStop(index=0),
        TurnEnd(
            stop_reason="end_turn",
            usage=STREAM_USAGE,
            model="m",
            cost_usd=0.0123,
            session_id=SESSION,
        ),
    ]


def test_a_schema_turn_that_ends_in_plain_text_is_a_structured_output_failure() -> None:
    reader = TurnReader(model="m", structured_output=True)
    play(
        reader,
        [
            message_start(),
            block_start(0, {"type": "text", "text": ""}),
            text_delta(0, "Sorry, no JSON today"),
            block_stop(0),
            message_delta("end_turn"),
            message_stop(),
        ],
    )
    with pytest.raises(UpstreamError) as caught:
        reader.feed(result(structured_output=None))
    assert caught.value.code == "structured_output_failed"
    assert caught.value.status == 502


def test_a_result_with_no_stream_still_starts_and_ends() -> None:
    events = play(TurnReader(model="m"), [result()])
    assert [type(e) for e in events] == [MessageStart, TurnEnd]


@pytest.mark.parametrize(
    ("assistant_error", "text", "status", "expected", "code"),
    [
        ("rate_limit", "API Error: 429 rate limited", 429, UpstreamRateLimitedError,
         "upstream_rate_limited"),
        ("authentication_failed", "Invalid API key", 401, UpstreamAuthenticationError,
         "upstream_authentication_failed"),
        ("unknown", "API Error: 529 Overloaded", 529, UpstreamOverloadedError,
         "upstream_overloaded"),
        (None, "API Error: 500 boom", None, UpstreamError, "upstream_error"),
        (None, None, None, UpstreamError, "error_during_execution"),
    ],
)  # fmt: skip
def test_error_results_are_classified(
    assistant_error: AssistantMessageError | None,
    text: str | None,
    status: int | None,
    expected: type[WrapperError],
    code: str,
) -> None:
    reader = TurnReader(model="m")
    messages: list[SdkMessage] = [message_start()]
    if assistant_error is not None:
        messages.append(
            AssistantMessage(
                content=[TextBlock(text=text or "")],
                model="<synthetic>",
                error=assistant_error,
            )
        )
    messages.append(
        result(
            subtype="error_during_execution",
            is_error=True,
            api_error_status=status,
            result=text if assistant_error is None else None,
        )
    )
    with pytest.raises(expected) as caught:
        play(reader, messages)
    assert caught.value.code == code
    assert reader.done


@pytest.mark.parametrize(
    ("subtype", "code"),
    [
        ("error_max_turns", "max_turns"),
        ("error_max_budget_usd", "max_budget"),
        ("error_max_structured_output_retries", "structured_output_failed"),
    ],
)
def test_limit_results_are_upstream_errors(subtype: str, code: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        play(TurnReader(model="m"), [result(subtype=subtype, is_error=True)])
    assert caught.value.code == code
    assert caught.value.status == 502


def test_error_messages_never_carry_stderr_or_tracebacks() -> None:
    with pytest.raises(UpstreamError) as caught:
        play(
            TurnReader(model="m"),
            [result(subtype="error_during_execution", is_error=True, result=None)],
        )
    assert "Traceback" not in caught.value.message


def test_usage_from() -> None:
    assert usage_from(None) == Usage()
    assert usage_from({"input_tokens": 3, "output_tokens": "x"}) == Usage(input_tokens=3)
    assert usage_from(
        {"input_tokens": 1, "output_tokens": 9, "output_tokens_details": {"thinking_tokens": 4}}
    ) == Usage(input_tokens=1, output_tokens=9, reasoning_tokens=4)


def test_tool_runs_are_shown_as_reasoning_steps_with_their_outcome() -> None:
    reader = TurnReader(model="m", client_tools=["mine"], show_tool_steps=True)
    events = play(
        reader,
        [
            message_start(),
            block_start(0, {"type": "tool_use", "id": "toolu_s", "name": "Bash", "input": {}}),
            json_delta(0, '{"command": '),
            json_delta(0, '"ls"}'),
            block_stop(0),
            message_delta("tool_use"),
            message_stop(),
            UserMessage(
                content=[ToolResultBlock(tool_use_id="toolu_s", content="a.txt", is_error=True)]
            ),
            message_start({"input_tokens": 30}),
            block_start(0, {"type": "text", "text": ""}),
            text_delta(0, "done"),
            block_stop(0),
            message_delta("end_turn"),
            message_stop(),
            result(usage=None),
        ],
    )
    starts = [e for e in events if isinstance(e, BlockStart)]
    assert starts == [
        BlockStart(index=0, type="thinking", step=ToolStep("Bash", "toolu_s", "call")),
        BlockStart(index=1, type="thinking", step=ToolStep("Bash", "toolu_s", "error")),
        BlockStart(index=2, type="text"),
    ]
    shown = [e.thinking for e in events if isinstance(e, ThinkingDelta)]
    assert shown == ['Bash: {"command": "ls"}\n', "Bash failed: a.txt\n"]
    assert not any(isinstance(e, ToolInputDelta) for e in events)


def test_the_agent_loop_step_limit_ends_the_reply_cut_short() -> None:
    reader = TurnReader(model="m", show_tool_steps=True)
    events = play(
        reader,
        [
            message_start(),
            block_start(0, {"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}),
            json_delta(0, "{}"),
            block_stop(0),
            message_delta("tool_use"),
            message_stop(),
            result(subtype="error_max_turns", is_error=True, stop_reason=None),
        ],
    )
    end = events[-1]
    assert isinstance(end, TurnEnd) and end.stop_reason == "max_tokens"
    assert any(isinstance(e, BlockStart) and e.step is not None for e in events)


def test_without_tool_steps_the_step_limit_is_still_an_error() -> None:
    reader = TurnReader(model="m")
    with pytest.raises(WrapperError):
        play(reader, [message_start(), result(subtype="error_max_turns", is_error=True)])
