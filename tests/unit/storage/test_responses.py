"""The stored-response store: bounded in count and age, values that survive serialisation."""

from __future__ import annotations

import pytest

from wrapper.events import ImagePart, Message, TextPart, ThinkingPart, ToolResultPart, ToolUsePart
from wrapper.schemas import openai_responses_output as rs
from wrapper.schemas.openai_responses import ToolChoiceObject
from wrapper.storage.responses import (
    MemoryResponseStore,
    ResponseStore,
    StoredResponse,
    decode_stored,
    encode_stored,
)

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stored(response_id: str, text: str = "hi") -> StoredResponse:
    return StoredResponse(
        response=rs.Response(id=response_id, created_at=1, status="completed", model="m"),
        conversation=(Message(role="user", content=(TextPart(text=text),)),),
    )


async def test_put_get_delete() -> None:
    store: ResponseStore = MemoryResponseStore()
    assert await store.get("resp_a") is None
    await store.put(stored("resp_a", "one"))
    found = await store.get("resp_a")
    assert found is not None
    assert found.conversation[0].content == (TextPart(text="one"),)
    assert await store.delete("resp_a") is True
    assert await store.get("resp_a") is None
    assert await store.delete("resp_a") is False


async def test_the_oldest_go_first_beyond_the_count() -> None:
    store = MemoryResponseStore(max_items=2)
    for name in ("resp_1", "resp_2", "resp_3"):
        await store.put(stored(name))
    assert len(store) == 2
    assert await store.get("resp_1") is None
    assert await store.get("resp_2") is not None
    assert await store.get("resp_3") is not None


async def test_entries_expire_by_age() -> None:
    clock = Clock()
    store = MemoryResponseStore(max_age_s=60, clock=clock)
    await store.put(stored("resp_old"))
    clock.now += 30
    await store.put(stored("resp_new"))
    clock.now += 31
    assert await store.get("resp_old") is None
    assert await store.get("resp_new") is not None
    clock.now += 100
    await store.put(stored("resp_newest"))
    assert len(store) == 1


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        MemoryResponseStore(max_items=0)


def test_stored_values_round_trip_through_bytes() -> None:
    response = rs.Response(
        id="resp_x",
        created_at=5,
        status="incomplete",
        model="m",
        incomplete_details=rs.IncompleteDetails(reason="max_output_tokens"),
        output=[
            rs.Reasoning(id="rs_1", summary=[rs.SummaryText(text="t")], status="completed"),
            rs.OutputMessage(id="msg_1", status="completed", content=[rs.OutputText(text="a")]),
            rs.FunctionCall(id="fc_1", call_id="c", name="f", arguments="{}", status="completed"),
        ],
        tool_choice=ToolChoiceObject(type="function", name="f"),
        usage=rs.ResponseUsage(
            input_tokens=1,
            input_tokens_details=rs.InputTokensDetails(),
            output_tokens=2,
            output_tokens_details=rs.OutputTokensDetails(),
            total_tokens=3,
        ),
        metadata={"k": "v"},
    )
    value = StoredResponse(
        response=response,
        conversation=(
            Message(
                role="user",
                content=(TextPart(text="q"), ImagePart(media_type="image/png", data="AAAA")),
            ),
            Message(
                role="assistant",
                content=(
                    ThinkingPart(thinking="t", signature="s"),
                    ToolUsePart(id="c", name="f", input={"a": [1, {"b": None}]}),
                ),
            ),
            Message(role="user", content=(ToolResultPart(tool_use_id="c"),)),
        ),
        system="sys",
        stored_at=12.5,
    )
    assert decode_stored(encode_stored(value)) == value
