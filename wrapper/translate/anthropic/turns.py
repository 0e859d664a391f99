"""Running a Messages request's turn and emitting its wire output.

One backend turn per request. Stop sequences are applied here (the CLI cannot
pass them upstream), exactly as for the chat dialect; the turn still runs to its
end so usage is Claude's real count.
"""

from __future__ import annotations

from contextlib import aclosing

import msgspec

from wrapper.events import Backend, Turn
from wrapper.http.responses import Emit, Producer
from wrapper.schemas import anthropic_output as ao
from wrapper.translate.anthropic.response import MessageCollector, StreamTranslator, sse_frame
from wrapper.translate.stops import apply_stop_sequences


class MessagesPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A Messages request to run: the Turn and how to present it."""

    turn: Turn
    message_id: str
    model: str
    omit_thinking: bool = False
    # What the request's context_management edits cleared; None when it sent none.
    context_management: ao.ContextManagementOut | None = None


async def complete_message(backend: Backend, plan: MessagesPlan) -> ao.Message:
    """Run the turn to its end and build the non-stream ``message``."""
    collector = MessageCollector(
        plan.message_id,
        plan.model,
        omit_thinking=plan.omit_thinking,
        context_management=plan.context_management,
    )
    async with (
        backend.open(plan.turn) as events,
        aclosing(apply_stop_sequences(events, plan.turn.stop_sequences)) as stream,
    ):
        async for event in stream:
            collector.add(event)
    return collector.message()


def message_stream_producer(backend: Backend, plan: MessagesPlan) -> Producer:
    """The ``produce(emit)`` of a streaming Messages request."""

    async def produce(emit: Emit) -> None:
        translator = StreamTranslator(
            plan.message_id,
            plan.model,
            omit_thinking=plan.omit_thinking,
            context_management=plan.context_management,
        )
        async with (
            backend.open(plan.turn) as events,
            aclosing(apply_stop_sequences(events, plan.turn.stop_sequences)) as stream,
        ):
            async for event in stream:
                for wire_event in translator.translate(event):
                    await emit(sse_frame(wire_event))

    return produce
