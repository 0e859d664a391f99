"""Every dialect reports the model that answered (a fallback model, say), not the one asked for."""

from __future__ import annotations

import msgspec

from tests.fakes.backend import text_events
from wrapper.events import AgentEvent, MessageStart
from wrapper.schemas import anthropic_output as ao
from wrapper.schemas import openai_responses_output as rs
from wrapper.schemas.openai_responses import REQUEST_DECODER
from wrapper.translate.anthropic.response import MessageCollector, StreamTranslator
from wrapper.translate.openai_chat.response import ChoiceCollector, ChunkTranslator, completion
from wrapper.translate.openai_responses.request import responses_request_to_plan
from wrapper.translate.openai_responses.response import ResponseAssembler

ASKED = "claude-opus-4-7"
ANSWERED = "claude-sonnet-4-6"
EVENTS: list[AgentEvent] = text_events("hello", model=ANSWERED)


def test_chat_completion_and_every_chunk() -> None:
    collector = ChoiceCollector(0)
    for event in EVENTS:
        collector.add(event)
    assert completion("chatcmpl-1", 1, ASKED, [collector]).model == ANSWERED
    translator = ChunkTranslator("chatcmpl-1", 1, ASKED)
    chunks = [chunk for event in EVENTS for chunk in translator.translate(event)]
    assert {chunk.model for chunk in chunks} == {ANSWERED}


def test_chat_completion_without_a_finished_turn_keeps_the_requested_model() -> None:
    assert completion("chatcmpl-1", 1, ASKED, []).model == ASKED


def test_anthropic_message_and_message_start() -> None:
    collector = MessageCollector("msg_1", ASKED)
    for event in EVENTS:
        collector.add(event)
    assert collector.message().model == ANSWERED
    translator = StreamTranslator("msg_1", ASKED)
    first = translator.translate(EVENTS[0])[0]
    assert isinstance(first, ao.MessageStartEvent)
    assert first.message.model == ANSWERED


def test_responses_created_and_final_response() -> None:
    request = REQUEST_DECODER.decode(msgspec.json.encode({"model": ASKED, "input": "hi"}))
    plan = responses_request_to_plan(
        request, response_id="resp_1", created_at=1000, default_model="d", headers={}
    )
    assembler = ResponseAssembler(plan.template)
    assert isinstance(EVENTS[0], MessageStart)
    created = assembler.feed(EVENTS[0])[0]
    for event in EVENTS[1:]:
        assembler.feed(event)
    assert isinstance(created, rs.ResponseCreated)
    assert created.response.model == ANSWERED
    assert assembler.final_response().model == ANSWERED
