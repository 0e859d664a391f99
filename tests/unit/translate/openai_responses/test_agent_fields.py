"""What Codex CLI and the AI SDK send to ``/v1/responses`` by default, and its fate.

Codex CLI 0.171 sends a ``namespace`` tool (its multi-agent tools), a hosted
``web_search`` tool, ``prompt_cache_key`` (its session id), ``store: false`` and
``include: ["reasoning.encrypted_content"]``. The AI SDK's default provider sends
``item_reference`` items for the outputs of the responses it stored.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.backend import FakeBackend, text_events
from tests.unit.api.test_responses import create, make_api, request, tool_events
from tests.unit.storage.test_responses_durable import Clock, stored
from tests.unit.translate.openai_responses.test_request import plan_of
from wrapper.errors import InvalidRequestError
from wrapper.events import (
    BlockStart,
    BlockStop,
    Message,
    MessageStart,
    Part,
    SignatureDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolInputDelta,
    ToolUsePart,
    TurnEnd,
    Usage,
)
from wrapper.http.responses import JSONResponse, StreamResponse
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore
from wrapper.storage.responses_durable import DurableResponseStore

pytestmark = pytest.mark.anyio

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"target": {"type": "string"}}}
NAMESPACE: dict[str, Any] = {
    "type": "namespace",
    "name": "multi_agent_v1",
    "description": "Tools for sub-agents.",
    "tools": [
        {"type": "function", "name": "wait_agent", "description": "Wait.", "parameters": SCHEMA},
        {"type": "function", "name": "close_agent", "parameters": SCHEMA},
    ],
}
EXEC = {"type": "function", "name": "exec_command", "parameters": SCHEMA}
WEB_SEARCH = {"type": "web_search", "external_web_access": False}


def codex_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "instructions": "You are a coding agent.",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "d"}],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        ],
        "tools": [EXEC, NAMESPACE, WEB_SEARCH],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"},
        "store": False,
        "stream": False,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "01a233ce-28df-7f92-8b8c-1b6b4fd451f5",
        "client_metadata": {"session_id": "01a233ce"},
    }
    body.update(changes)
    return body


async def test_namespace_members_are_flat_functions_and_hosted_tools_are_left_out() -> None:
    backend = FakeBackend(text_events("ok"))
    async with make_api(backend) as (api, _):
        response = await api.create(request("POST", "/v1/responses", codex_body()))
        assert isinstance(response, JSONResponse)
        turn = backend.turns[0]
        assert [tool.name for tool in turn.tools] == [
            "exec_command",
            "multi_agent_v1__wait_agent",
            "multi_agent_v1__close_agent",
        ]
        assert turn.tools[1].description == "Tools for sub-agents.\nWait."
        assert ("x-ignored-fields", "tools[2]") in response.headers
        echoed = json.loads(response.body)["tools"]
        assert [tool["type"] for tool in echoed] == ["function", "namespace"]
        assert [tool["name"] for tool in echoed[1]["tools"]] == ["wait_agent", "close_agent"]


async def test_the_streamed_response_names_the_hosted_tools_it_left_out() -> None:
    async with make_api(FakeBackend(text_events("ok"))) as (api, _):
        response = await api.create(request("POST", "/v1/responses", codex_body(stream=True)))
        assert isinstance(response, StreamResponse)
        assert ("x-ignored-fields", "tools[2]") in response.headers


async def test_a_call_of_a_namespace_member_goes_back_in_the_namespaced_form() -> None:
    backend = FakeBackend(tool_events("toolu_1", "multi_agent_v1__wait_agent", '{"target":"a"}'))
    async with make_api(backend) as (api, _):
        call = (await create(api, codex_body()))["output"][0]
        assert (call["name"], call["namespace"]) == ("wait_agent", "multi_agent_v1")


async def test_a_namespaced_call_in_the_history_is_replayed_under_the_flat_name() -> None:
    backend = FakeBackend(text_events("done"))
    async with make_api(backend) as (api, _):
        body = codex_body()
        body["input"] += [
            {
                "type": "function_call",
                "call_id": "toolu_1",
                "name": "wait_agent",
                "namespace": "multi_agent_v1",
                "arguments": '{"target":"a"}',
            },
            {"type": "function_call_output", "call_id": "toolu_1", "output": "no such agent"},
        ]
        await create(api, body)
        call = backend.turns[0].messages[1].content[0]
        assert call == ToolUsePart(
            id="toolu_1", name="multi_agent_v1__wait_agent", input={"target": "a"}
        )


async def test_a_plain_function_call_keeps_no_namespace() -> None:
    backend = FakeBackend(tool_events("toolu_2", "exec_command", '{"target":"b"}'))
    async with make_api(backend) as (api, _):
        call = (await create(api, codex_body()))["output"][0]
        assert "namespace" not in call


async def test_prompt_cache_key_names_the_turns_conversation() -> None:
    backend = FakeBackend(text_events("ok"))
    async with make_api(backend) as (api, _):
        result = await create(api, codex_body())
        assert backend.turns[0].conversation_key == "01a233ce-28df-7f92-8b8c-1b6b4fd451f5"
        assert result["prompt_cache_key"] == "01a233ce-28df-7f92-8b8c-1b6b4fd451f5"
        assert result["store"] is False


def test_a_namespace_holding_a_hosted_tool_is_a_400() -> None:
    bad = {"type": "namespace", "name": "ns", "tools": [{"type": "web_search"}]}
    with pytest.raises(InvalidRequestError) as caught:
        plan_of({"input": "x", "tools": [bad]})
    assert caught.value.param == "tools[0].tools[0].type"


# --------------------------------------------------------------------------------------
# item_reference (the AI SDK's default provider, store on)


def thinking_tool_events(call_id: str) -> list[Any]:
    return [
        MessageStart(model="m"),
        BlockStart(index=0, type="thinking"),
        ThinkingDelta(index=0, thinking="look it up"),
        SignatureDelta(index=0, signature="sig-1"),
        BlockStop(index=0),
        BlockStart(index=1, type="tool_use", tool_id=call_id, tool_name="get_weather"),
        ToolInputDelta(index=1, partial_json='{"city":"Oslo"}'),
        BlockStop(index=1),
        TurnEnd(stop_reason="tool_use", usage=Usage(input_tokens=1, output_tokens=1), model="m"),
    ]


async def test_item_references_are_replaced_by_the_stored_items() -> None:
    backend = FakeBackend(thinking_tool_events("toolu_9"), text_events("Sunny."))
    async with make_api(backend) as (api, _):
        tools = [{"type": "function", "name": "get_weather"}]
        first = await create(api, {"input": "Weather in Oslo?", "tools": tools})
        reasoning, call = first["output"]
        assert "encrypted_content" not in reasoning  # not asked for
        await create(
            api,
            {
                "tools": tools,
                "input": [
                    {"role": "user", "content": "Weather in Oslo?"},
                    {"type": "item_reference", "id": reasoning["id"]},
                    {"type": "item_reference", "id": call["id"]},
                    {"type": "function_call_output", "call_id": "toolu_9", "output": "sunny"},
                ],
            },
        )
        assistant = backend.turns[1].messages[1]
        # The thinking block comes back with its signature, though the client never saw it.
        assert assistant == Message(
            role="assistant",
            content=(
                ThinkingPart(thinking="look it up", signature="sig-1"),
                ToolUsePart(id="toolu_9", name="get_weather", input={"city": "Oslo"}),
            ),
        )


async def test_an_unknown_item_reference_is_a_400_naming_it() -> None:
    async with make_api(FakeBackend(text_events("x"))) as (api, _):
        body = {
            "input": [{"role": "user", "content": "a"}, {"type": "item_reference", "id": "msg_x"}]
        }
        with pytest.raises(InvalidRequestError) as caught:
            await create(api, body)
        assert caught.value.param == "input[1].id"
        assert "msg_x" in str(caught.value)


async def test_items_of_an_unstored_response_cannot_be_referenced() -> None:
    async with make_api(FakeBackend(text_events("Hello"))) as (api, _):
        first = await create(api, {"input": "hi", "store": False})
        with pytest.raises(InvalidRequestError):
            await create(
                api, {"input": [{"type": "item_reference", "id": first["output"][0]["id"]}]}
            )


async def test_a_deleted_responses_items_are_gone_from_memory() -> None:
    async with make_api(FakeBackend(text_events("Hello"))) as (api, store):
        first = await create(api, {"input": "hi"})
        item_id = first["output"][0]["id"]
        assert await store.get_item(item_id) == (TextPart(text="Hello"),)
        await store.delete(first["id"])
        assert await store.get_item(item_id) is None


async def test_the_durable_store_resolves_items_and_forgets_them_with_the_response() -> None:
    store = DurableResponseStore(MemoryTranscriptStore(), max_age_s=60, clock=(clock := Clock()))
    entry = stored("resp_1")
    items: dict[str, tuple[Part, ...]] = {"msg_1": (TextPart(text="hello"),)}
    await store.put(
        type(entry)(response=entry.response, conversation=entry.conversation, items=items)
    )
    assert await store.get_item("msg_1") == (TextPart(text="hello"),)
    assert await store.get_item("msg_2") is None
    await store.delete("resp_1")
    assert await store.get_item("msg_1") is None
    await store.put(
        type(entry)(response=entry.response, conversation=entry.conversation, items=items)
    )
    clock.now += 61
    assert await store.get_item("msg_1") is None
