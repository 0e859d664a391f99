"""Responses ``custom`` (freeform) tools, as Codex CLI sends ``apply_patch``, through the real
chain: openai client -> server -> SDK -> CLI -> fake upstream."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.fakes.anthropic_upstream import FakeUpstream, Reply, ToolUse
from tests.unit.translate.openai_responses.test_response import EVENT_SCHEMAS, assert_valid

pytestmark = pytest.mark.e2e

MODEL = "claude-sonnet-4-6"
GRAMMAR = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF'
APPLY_PATCH: Any = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Use the `apply_patch` tool to edit files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": GRAMMAR},
}
PATCH = '*** Begin Patch\n*** Add File: hello.txt\n+Hello, "world"\n*** End Patch\n'


def marker() -> str:
    return f"C{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=120) as client:
        yield client


def test_a_custom_tool_call_streams_as_custom_tool_call_events(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    encoded = json.dumps({"input": PATCH})
    upstream.script(
        tag,
        Reply(
            blocks=[
                ToolUse(
                    "apply_patch",
                    {"input": PATCH},
                    id="toolu_c1",
                    chunks=[encoded[:14], encoded[14:40], encoded[40:]],
                )
            ]
        ),
    )
    with client.responses.stream(
        model=MODEL, input=f"Add hello.txt {tag}", tools=[APPLY_PATCH]
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    for event in events:
        if "custom_tool_call" in event.type or "output_item" in event.type:
            # Their payloads hold no nulls, so the parsed event dumps back to the wire form.
            wire = event.model_dump(mode="json", exclude_none=True)
            assert_valid(EVENT_SCHEMAS[event.type], wire)
    deltas = [e.delta for e in events if e.type == "response.custom_tool_call_input.delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == PATCH
    (done,) = [e for e in events if e.type == "response.custom_tool_call_input.done"]
    assert done.input == PATCH
    (call,) = final.output
    assert call.type == "custom_tool_call"
    assert (call.call_id, call.name, call.input) == ("toolu_c1", "apply_patch", PATCH)
    assert call.id is not None and call.id.startswith("ctc_")
    # The model was offered a one-string tool, the grammar described, not enforced.
    (offered,) = [t for t in upstream.recorded(tag)[-1].body["tools"] if t["name"] == "apply_patch"]
    field = offered["input_schema"]["properties"]["input"]
    assert field["type"] == "string"
    assert GRAMMAR in field["description"]
    assert GRAMMAR in offered["description"]


def test_custom_call_items_round_trip_and_tool_choice_names_the_tool(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    tag = marker()
    upstream.script(
        tag,
        Reply(blocks=[ToolUse("apply_patch", {"input": PATCH}, id="toolu_c2")]),
        Reply.text("Patched."),
    )
    raw = client.responses.with_raw_response.create(
        model=MODEL,
        input=f"Add hello.txt {tag}",
        tools=[APPLY_PATCH],
        tool_choice={"type": "custom", "name": "apply_patch"},
    )
    body = json.loads(raw.text)
    assert_valid("Response", body)
    assert body["tool_choice"] == {"type": "custom", "name": "apply_patch"}
    assert body["tools"] == [APPLY_PATCH]
    first = raw.parse()
    (call,) = first.output
    assert call.type == "custom_tool_call"
    assert call.input == PATCH
    assert [t["name"] for t in upstream.recorded(tag)[-1].body["tools"]] == ["apply_patch"]

    # Stateless: the call item dumped back as clients replay it, then its output.
    second = client.responses.create(
        model=MODEL,
        tools=[APPLY_PATCH],
        store=False,
        input=[
            {"role": "user", "content": f"Add hello.txt {tag}"},
            call.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"type": "custom_tool_call_output", "call_id": "toolu_c2", "output": "Done!"},
        ],
    )
    assert second.output_text == "Patched."
    messages = upstream.recorded(tag)[-1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    (use,) = [b for b in messages[1]["content"] if b["type"] == "tool_use"]
    assert (use["id"], use["name"], use["input"]) == ("toolu_c2", "apply_patch", {"input": PATCH})
    (result,) = [b for b in messages[2]["content"] if b["type"] == "tool_result"]
    assert result["tool_use_id"] == "toolu_c2"
    assert "Done!" in json.dumps(result["content"])
