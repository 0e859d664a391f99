"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic's Messages API.

The ``anthropic-version`` header is accepted and ignored and ``anthropic-beta`` values
are honoured or reported as ignored: the request body alone decides what happens
(docs/compatibility-anthropic.md).
"""

from __future__ import annotations

import msgspec

from wrapper.api.context import AppContext
from wrapper.http.error_pages import anthropic_stream_error_frame
from wrapper.http.request import Request, decode_json
from wrapper.http.responses import Response, StreamResponse, json_response
from wrapper.policy.request_record import RecordingBackend, RequestRecord
from wrapper.policy.response_cache import cached_json
from wrapper.schemas.anthropic import (
    COUNT_TOKENS_DECODER,
    REQUEST_DECODER,
    CountTokensResponse,
)
from wrapper.translate.anthropic.betas import ignored_header
from wrapper.translate.anthropic.request import (
    check_count_tokens_request,
    count_tokens_payload,
    messages_request_to_turn,
    thinking_omitted,
)
from wrapper.translate.anthropic.response import PING_FRAME, new_message_id
from wrapper.translate.anthropic.turns import (
    MessagesPlan,
    complete_message,
    message_stream_producer,
)


class MessagesAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def create(self, request: Request) -> Response:
        body = decode_json(await request.body(self.ctx.settings.max_request_size), REQUEST_DECODER)
        built = messages_request_to_turn(
            body,
            default_model=self.ctx.models.default_model,
            headers=request.headers,
            allow_server_tools=self.ctx.settings.enable_server_tools,
        )
        turn, noted = built.turn, ignored_header(built.ignored, request.headers)
        turn = await self.ctx.agent.mode.prepare(turn)
        plan = MessagesPlan(
            turn=turn,
            message_id=new_message_id(),
            model=turn.model,
            omit_thinking=thinking_omitted(body.thinking),
            context_management=built.context_management,
        )
        if body.stream:
            return StreamResponse(
                message_stream_producer(
                    self.ctx.ops.usage.backend_for(request.caller, self.ctx.engine.backend), plan
                ),
                anthropic_stream_error_frame,
                ping_frame=PING_FRAME,
                headers=noted,
            )
        record = RequestRecord()
        backend = RecordingBackend(
            self.ctx.ops.usage.backend_for(request.caller, self.ctx.engine.backend), record
        )
        response = await cached_json(
            self.ctx.ops.cache,
            request.headers,
            (
                "messages",
                request.caller.name,
                plan.turn,
                plan.omit_thinking,
                plan.model,
                plan.context_management,
            ),
            lambda: complete_message(backend, plan),
            renew=lambda done: msgspec.structs.replace(done, id=plan.message_id),
            cacheable=plan.turn.session_id is None,
        )
        response.headers += [*record.headers(), *noted]
        return response

    async def count_tokens(self, request: Request) -> Response:
        raw = await request.body(self.ctx.settings.max_request_size)
        check_count_tokens_request(decode_json(raw, COUNT_TOKENS_DECODER))
        payload = count_tokens_payload(raw, default_model=self.ctx.models.default_model)
        count = await self.ctx.upstream.token_counter.count(payload)
        return json_response(CountTokensResponse(input_tokens=count))
