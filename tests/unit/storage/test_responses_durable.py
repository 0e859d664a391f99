"""The durable response store over a session transcript store (memory backend here)."""

from __future__ import annotations

import pytest

from wrapper.events import Message, TextPart
from wrapper.schemas.openai_responses_output import Response
from wrapper.sessions.memory_transcripts import MemoryTranscriptStore
from wrapper.storage.responses import StoredResponse
from wrapper.storage.responses_durable import DurableResponseStore

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def stored(response_id: str) -> StoredResponse:
    response = Response(id=response_id, created_at=1, status="completed", model="claude-sonnet-4-6")
    conversation = (Message(role="user", content=(TextPart(text="hi"),)),)
    return StoredResponse(response=response, conversation=conversation, system="be brief")


async def test_put_get_delete_round_trip() -> None:
    store = DurableResponseStore(MemoryTranscriptStore(), clock=Clock())
    await store.put(stored("resp_1"))
    got = await store.get("resp_1")
    assert got is not None
    assert got.response.id == "resp_1"
    assert got.conversation[0].content == (TextPart(text="hi"),)
    assert got.system == "be brief"
    assert await store.delete("resp_1") is True
    assert await store.get("resp_1") is None
    assert await store.delete("resp_1") is False


async def test_replacing_keeps_one_copy() -> None:
    transcripts = MemoryTranscriptStore()
    store = DurableResponseStore(transcripts, clock=Clock())
    await store.put(stored("resp_2"))
    await store.put(stored("resp_2"))
    entries = await transcripts.load(
        {"project_key": "claude-wrapper-responses", "session_id": "resp_2"}
    )
    assert entries is not None
    assert len(entries) == 1


async def test_old_responses_are_gone() -> None:
    clock = Clock()
    store = DurableResponseStore(MemoryTranscriptStore(), max_age_s=60, clock=clock)
    await store.put(stored("resp_3"))
    clock.now += 61
    assert await store.get("resp_3") is None
