"""Running a chat completion's turns and emitting its wire output.

``n`` choices run concurrently, one backend turn each; in a stream their chunks
interleave by choice index, each choice ending with its own ``finish_reason``.
"""

from __future__ import annotations

from contextlib import aclosing

import msgspec

from wrapper.events import Backend, Turn, Usage
from wrapper.http.responses import Emit, Producer
from wrapper.http.sse import encode_event
from wrapper.schemas import openai_chat as oa
from wrapper.taskgroups import run_all
from wrapper.translate.openai_chat.response import (
    ChoiceCollector,
    ChunkTranslator,
    completion,
    sum_usage,
)
from wrapper.translate.stops import apply_stop_sequences

_ENCODER = msgspec.json.Encoder()
DONE_FRAME = encode_event("[DONE]")


class ChatPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A chat completion to run: the Turn and how to present it."""

    turn: Turn
    n: int = 1
    completion_id: str
    created: int
    model: str
    include_usage: bool = False
    legacy_functions: bool = False


async def complete_chat(backend: Backend, plan: ChatPlan) -> oa.ChatCompletion:
    """Run every choice to its end and build the non-stream response."""
    collectors = [
        ChoiceCollector(index, legacy_functions=plan.legacy_functions) for index in range(plan.n)
    ]

    async def run(collector: ChoiceCollector) -> None:
        async with (
            backend.open(plan.turn) as events,
            aclosing(apply_stop_sequences(events, plan.turn.stop_sequences)) as stream,
        ):
            async for event in stream:
                collector.add(event)

    await run_all([lambda c=c: run(c) for c in collectors])  # type: ignore[misc]
    return completion(plan.completion_id, plan.created, plan.model, collectors)


def chat_stream_producer(backend: Backend, plan: ChatPlan) -> Producer:
    """The ``produce(emit)`` of a streaming chat completion."""

    async def produce(emit: Emit) -> None:
        translators = [
            ChunkTranslator(
                plan.completion_id,
                plan.created,
                plan.model,
                index,
                legacy_functions=plan.legacy_functions,
            )
            for index in range(plan.n)
        ]

        async def run(translator: ChunkTranslator) -> None:
            async with (
                backend.open(plan.turn) as events,
                aclosing(apply_stop_sequences(events, plan.turn.stop_sequences)) as stream,
            ):
                async for event in stream:
                    for chunk in translator.translate(event):
                        await emit(encode_event(_ENCODER.encode(chunk).decode()))

        await run_all([lambda t=t: run(t) for t in translators])  # type: ignore[misc]
        if plan.include_usage:
            usage: list[Usage] = [t.usage for t in translators if t.usage is not None]
            chunk = translators[0].usage_chunk(sum_usage(usage))
            await emit(encode_event(_ENCODER.encode(chunk).decode()))
        await emit(DONE_FRAME)

    return produce
