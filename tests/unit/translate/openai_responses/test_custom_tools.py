"""Responses ``custom`` (freeform) tools: offered as one-string client tools, their calls
reported as ``custom_tool_call`` items and events valid against OpenAI's schema."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from wrapper.errors import InvalidRequestError
from wrapper.events import (
    AgentEvent,
    BlockStart,
    BlockStop,
    Message,
    MessageStart,
    TextPart,
    ToolInputDelta,
    ToolResultPart,
    ToolUsePart,
    TurnEnd,
    Usage,
)
from wrapper.schemas import openai_responses_output as rs
from wrapper.schemas.openai_responses import REQUEST_DECODER
from wrapper.translate.openai_responses.custom_tools import InputStream, call_input
from wrapper.translate.openai_responses.request import ResponsesPlan, responses_request_to_plan
from wrapper.translate.openai_responses.response import ResponseAssembler

from .test_response import assert_valid, check_stream, types, wire

PATCH_TOOL = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch to files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch"'},
}


def plan(**body: Any) -> ResponsesPlan:
    request = REQUEST_DECODER.decode(
        msgspec.json.encode({"model": "claude-x", "input": "hi", **body})
    )
    return responses_request_to_plan(
        request, response_id="resp_1", created_at=1000, default_model="d", headers={}
    )


def run(
    events: list[AgentEvent], **body: Any
) -> tuple[list[dict[str, Any]], rs.Response, ResponseAssembler]:
    built = plan(**body)
    assembler = ResponseAssembler(built.template, custom=built.custom, clock=lambda: 2000.0)
    stream: list[rs.StreamEvent] = []
    for event in events:
        stream += assembler.feed(event)
    response = assembler.final_response()
    stream.append(assembler.terminal(response))
    return [wire(e) for e in stream], response, assembler


def call(index: int, call_id: str, name: str, *pieces: str) -> list[AgentEvent]:
    return [
        BlockStart(index=index, type="tool_use", tool_id=call_id, tool_name=name),
        *(ToolInputDelta(index=index, partial_json=p) for p in pieces),
        BlockStop(index=index),
    ]


def test_a_custom_tool_is_offered_as_a_one_string_tool_with_its_format_described() -> None:
    built = plan(tools=[PATCH_TOOL, {"type": "custom", "name": "note"}])
    patch, note = built.turn.tools
    assert patch.name == "apply_patch"
    assert patch.input_schema["properties"]["input"]["type"] == "string"
    assert patch.input_schema["required"] == ["input"]
    assert patch.description.startswith("Apply a patch to files.")
    assert "Lark grammar" in patch.description
    assert 'start: "*** Begin Patch"' in patch.description
    assert "not enforced" in patch.description
    assert "free text" in note.description
    assert built.custom == frozenset({"apply_patch", "note"})
    echoed = wire(built.template)["tools"]
    assert echoed[0] == PATCH_TOOL
    assert_valid("Response", wire(msgspec.structs.replace(built.template, status="completed")))


def test_tool_choice_custom_names_the_tool() -> None:
    built = plan(tools=[PATCH_TOOL], tool_choice={"type": "custom", "name": "apply_patch"})
    assert (built.turn.tool_choice.mode, built.turn.tool_choice.name) == ("tool", "apply_patch")
    allowed = plan(
        tools=[PATCH_TOOL, {"type": "function", "name": "f"}],
        tool_choice={
            "type": "allowed_tools",
            "mode": "required",
            "tools": [{"type": "custom", "name": "apply_patch"}],
        },
    )
    assert [t.name for t in allowed.turn.tools] == ["apply_patch"]
    with pytest.raises(InvalidRequestError) as caught:
        plan(tools=[PATCH_TOOL], tool_choice={"type": "custom", "name": "other"})
    assert caught.value.param == "tool_choice.name"


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        ({"type": "custom"}, "tools[0].name"),
        ({"type": "custom", "name": "x", "format": {"type": "grammar"}}, "tools[0].format"),
        ({"type": "custom", "name": "x", "format": {"type": "yaml"}}, "tools[0].format.type"),
    ],
)
def test_malformed_custom_tools_are_400(tool: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        plan(tools=[tool])
    assert caught.value.param == param


def test_a_custom_call_streams_its_input_and_ends_as_a_custom_tool_call_item() -> None:
    patch = '*** Begin Patch\n*** Add File: a.txt\n+hi "there"\n*** End Patch'
    encoded = json.dumps({"input": patch})
    pieces = [encoded[i : i + 7] for i in range(0, len(encoded), 7)]
    stream, response, assembler = run(
        [
            MessageStart(model="claude-x"),
            *call(0, "toolu_p", "apply_patch", *pieces),
            TurnEnd(stop_reason="tool_use", usage=Usage(output_tokens=3), model="claude-x"),
        ],
        tools=[PATCH_TOOL],
    )
    check_stream(stream)
    kinds = types(stream)
    assert kinds[2] == "response.output_item.added"
    assert set(kinds[3:-3]) == {"response.custom_tool_call_input.delta"}
    assert kinds[-3:] == [
        "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.completed",
    ]
    added = stream[2]["item"]
    assert added["type"] == "custom_tool_call"
    assert added["id"].startswith("ctc_")
    assert added["input"] == ""
    deltas = [e["delta"] for e in stream if e["type"] == "response.custom_tool_call_input.delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == patch
    assert stream[-3]["input"] == patch
    body = wire(response)
    assert_valid("Response", body)
    assert body["output"] == [
        {
            "type": "custom_tool_call",
            "id": added["id"],
            "call_id": "toolu_p",
            "name": "apply_patch",
            "input": patch,
            "status": "completed",
        }
    ]
    assert assembler.assistant_message() == Message(
        role="assistant",
        content=(ToolUsePart(id="toolu_p", name="apply_patch", input={"input": patch}),),
    )


def test_custom_and_function_calls_side_by_side() -> None:
    _, response, _ = run(
        [
            *call(0, "toolu_f", "f", '{"a": 1}'),
            *call(1, "toolu_c", "note", '{"input": "x"}'),
            TurnEnd(stop_reason="tool_use", usage=Usage(), model="claude-x"),
        ],
        tools=[{"type": "function", "name": "f"}, {"type": "custom", "name": "note"}],
    )
    body = wire(response)
    assert_valid("Response", body)
    assert [(item["type"], item["call_id"]) for item in body["output"]] == [
        ("function_call", "toolu_f"),
        ("custom_tool_call", "toolu_c"),
    ]
    assert body["output"][1]["input"] == "x"


@pytest.mark.parametrize(
    "encoded",
    [
        json.dumps({"input": "snow \u2603 and \U0001f600 and \\ and \n"}),
        json.dumps({"input": "snow \u2603 and \U0001f600"}, ensure_ascii=False),
    ],
)
def test_the_input_decodes_the_same_whatever_the_chunking(encoded: str) -> None:
    whole = json.loads(encoded)["input"]
    for size in (1, 2, 3, 5):
        stream = InputStream()
        sent = "".join(stream.feed(encoded[i : i + size]) for i in range(0, len(encoded), size))
        rest, final = stream.finish()
        assert sent + rest == whole == final


def test_input_that_is_not_the_expected_object_is_passed_on_as_is() -> None:
    assert call_input('{"input": "a"}') == "a"
    assert call_input("") == ""
    assert call_input('{"other": 1}') == '{"other": 1}'
    assert call_input("not json") == "not json"


def test_custom_call_items_and_outputs_become_the_tool_call_and_its_result() -> None:
    built = plan(
        tools=[PATCH_TOOL],
        input=[
            {"role": "user", "content": "patch it"},
            {
                "type": "custom_tool_call",
                "call_id": "toolu_p",
                "name": "apply_patch",
                "input": "*** Begin Patch",
            },
            {"type": "custom_tool_call_output", "call_id": "toolu_p", "output": "Done!"},
        ],
    )
    assert built.turn.messages[1:] == (
        Message(
            role="assistant",
            content=(
                ToolUsePart(id="toolu_p", name="apply_patch", input={"input": "*** Begin Patch"}),
            ),
        ),
        Message(
            role="user",
            content=(ToolResultPart(tool_use_id="toolu_p", content=(TextPart(text="Done!"),)),),
        ),
    )
