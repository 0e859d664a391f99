"""``POST /v1/chat/completions``: the OpenAI Chat Completions endpoint."""

from __future__ import annotations

import msgspec

from wrapper.api.context import AppContext
from wrapper.errors import InvalidRequestError, WrapperError
from wrapper.http.error_pages import openai_stream_error_frame
from wrapper.http.request import Request, decode_json
from wrapper.http.responses import Response, StreamResponse, json_response
from wrapper.policy.request_record import RecordingBackend, RequestRecord
from wrapper.policy.response_cache import cached_json
from wrapper.schemas.openai_chat import REQUEST_DECODER
from wrapper.translate.openai_chat.fields import report
from wrapper.translate.openai_chat.request import chat_request_to_turn
from wrapper.translate.openai_chat.response import new_completion_id, now
from wrapper.translate.openai_chat.turns import ChatPlan, chat_stream_producer, complete_chat

_ANY_OBJECT = msgspec.json.Decoder(dict[str, object])


class ChatAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def completions(self, request: Request) -> Response:
        body = decode_json(await request.body(self.ctx.settings.max_request_size), REQUEST_DECODER)
        turn = chat_request_to_turn(
            body,
            default_model=self.ctx.models.default_model,
            headers=request.headers,
            allow_server_tools=self.ctx.settings.enable_server_tools,
        )
        turn = await self.ctx.agent.mode.prepare(turn)
        plan = ChatPlan(
            turn=turn,
            n=body.n or 1,
            completion_id=new_completion_id(),
            created=now(),
            model=turn.model,
            include_usage=bool(body.stream_options and body.stream_options.include_usage),
            legacy_functions=bool(body.functions),
        )
        if body.stream:
            return StreamResponse(
                chat_stream_producer(
                    self.ctx.ops.usage.backend_for(request.caller, self.ctx.engine.backend), plan
                ),
                openai_stream_error_frame,
            )
        record = RequestRecord()
        backend = RecordingBackend(
            self.ctx.ops.usage.backend_for(request.caller, self.ctx.engine.backend), record
        )
        response = await cached_json(
            self.ctx.ops.cache,
            request.headers,
            # Per key: one key never receives an answer another key paid for.
            (
                "chat.completions",
                request.caller.name,
                plan.turn,
                plan.n,
                plan.legacy_functions,
                plan.model,
            ),
            lambda: complete_chat(backend, plan),
            renew=lambda done: msgspec.structs.replace(
                done, id=plan.completion_id, created=plan.created
            ),
            cacheable=plan.turn.session_id is None,
        )
        response.headers += record.headers()
        return response

    async def compatibility(self, request: Request) -> Response:
        """What this server would do with a chat request, field by field."""
        raw = await request.body(self.ctx.settings.max_request_size)
        fields = decode_json(raw, _ANY_OBJECT)
        result = report(fields, request.headers)
        try:
            chat_request_to_turn(
                decode_json(raw, REQUEST_DECODER),
                default_model=self.ctx.models.default_model,
                headers=request.headers,
                allow_server_tools=self.ctx.settings.enable_server_tools,
            )
        except InvalidRequestError as error:
            result.accepted = False
            result.error = error.message
        except WrapperError:
            result.accepted = False
        return json_response(result)
