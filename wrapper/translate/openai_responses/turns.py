"""Running a Responses API turn and emitting its wire output.

The non-stream path collects the turn into a ``response`` object; the stream
path sends each event as a named SSE frame (``event: <type>``), with no
``[DONE]``. A stored response is saved before its terminal event is sent, so a
client may continue it with ``previous_response_id`` as soon as it sees
``response.completed``. ``response.created`` waits for the backend's first
event, so a failure before any output keeps its HTTP status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from wrapper.errors import WrapperError
from wrapper.events import Backend, Message, Part
from wrapper.http.responses import Emit
from wrapper.http.sse import encode_event
from wrapper.schemas import openai_responses_output as rs
from wrapper.translate.openai_responses.request import ResponsesPlan
from wrapper.translate.openai_responses.response import ResponseAssembler

Save = Callable[[rs.Response, tuple[Message, ...], dict[str, tuple[Part, ...]]], Awaitable[None]]
"""Keeps a finished response, the whole conversation it ends and the content of each of
its output items, by item id (``store: true``)."""

_ENCODER = msgspec.json.Encoder()


def frame(event: rs.StreamEvent) -> bytes:
    """One stream event as an SSE frame named by its type."""
    return encode_event(_ENCODER.encode(event).decode(), event=rs.event_name(event))


def _conversation(plan: ResponsesPlan, assembler: ResponseAssembler) -> tuple[Message, ...]:
    reply = assembler.assistant_message()
    return (*plan.turn.messages, reply) if reply is not None else plan.turn.messages


def _assembler(plan: ResponsesPlan) -> ResponseAssembler:
    return ResponseAssembler(
        plan.template,
        seal_reasoning=plan.seal_reasoning,
        namespaced=plan.namespaced,
        custom=plan.custom,
    )


async def complete_response(
    backend: Backend, plan: ResponsesPlan, save: Save | None = None
) -> rs.Response:
    """Run the turn to its end and build the (stored, if ``save``) response object."""
    assembler = _assembler(plan)
    async with backend.open(plan.turn) as events:
        async for event in events:
            assembler.feed(event)
    response = assembler.final_response()
    if save is not None:
        await save(response, _conversation(plan, assembler), assembler.item_parts())
    return response


class ResponsesStream:
    """The ``produce(emit)`` and in-stream ``error_frame`` of one streamed response.

    Both share the event numbering: an error after the stream began is sent as
    an ``error`` event and a ``response.failed`` event that continue the
    sequence (preceded by ``response.created`` if nothing had been sent yet).
    """

    def __init__(self, backend: Backend, plan: ResponsesPlan, save: Save | None = None) -> None:
        self.backend = backend
        self.plan = plan
        self.save = save
        self.assembler = _assembler(plan)

    async def produce(self, emit: Emit) -> None:
        async with self.backend.open(self.plan.turn) as events:
            async for event in events:
                for out in self.assembler.feed(event):
                    await emit(frame(out))
        response = self.assembler.final_response()
        if self.save is not None:
            await self.save(
                response, _conversation(self.plan, self.assembler), self.assembler.item_parts()
            )
        await emit(frame(self.assembler.terminal(response)))

    def error_frame(self, error: WrapperError) -> bytes:
        return b"".join(frame(event) for event in self.assembler.failure(error))
