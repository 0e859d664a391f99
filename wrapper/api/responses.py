"""OpenAI's Responses API: ``POST /v1/responses``, ``GET`` / ``DELETE /v1/responses/{id}``."""

from __future__ import annotations

import time

import msgspec

from wrapper.api.context import AppContext
from wrapper.errors import InvalidRequestError, NotFoundError
from wrapper.events import Message, Part
from wrapper.http.request import Caller, Request, decode_json
from wrapper.http.responses import Response, StreamResponse, json_response
from wrapper.policy.ownership import response_owner
from wrapper.policy.request_record import RecordingBackend, RequestRecord
from wrapper.schemas import openai_responses_output as rs
from wrapper.schemas.openai_responses import REQUEST_DECODER
from wrapper.storage.responses import StoredResponse, resolve_items
from wrapper.translate.openai_responses.input import item_references
from wrapper.translate.openai_responses.request import (
    Prior,
    ResponsesPlan,
    responses_request_to_plan,
)
from wrapper.translate.openai_responses.response import new_response_id
from wrapper.translate.openai_responses.turns import ResponsesStream, Save, complete_response


def _not_found(response_id: str) -> NotFoundError:
    return NotFoundError(
        f"Response with id {response_id!r} not found.",
        param="response_id",
        code="response_not_found",
    )


class ResponsesAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def _stored(self, response_id: str, caller: Caller) -> StoredResponse | None:
        """The stored response ``caller`` may see (another key's is not found)."""
        stored = await self.ctx.stores.responses.get(response_id)
        if stored is None or not stored.visible_to(response_owner(caller)):
            return None
        return stored

    async def _prior(self, previous_response_id: str | None, caller: Caller) -> Prior | None:
        if previous_response_id is None:
            return None
        stored = await self._stored(previous_response_id, caller)
        if stored is None:
            raise NotFoundError(
                f"Previous response with id {previous_response_id!r} not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        return Prior(
            messages=stored.conversation, system=stored.system, model=stored.response.model
        )

    def _saver(self, plan: ResponsesPlan, caller: Caller) -> Save | None:
        if not plan.store:
            return None
        store = self.ctx.stores.responses

        async def save(
            response: rs.Response,
            conversation: tuple[Message, ...],
            items: dict[str, tuple[Part, ...]],
        ) -> None:
            await store.put(
                StoredResponse(
                    response=response,
                    conversation=conversation,
                    system=plan.system_context,
                    items=items,
                    owner=response_owner(caller),
                )
            )

        return save

    async def create(self, request: Request) -> Response:
        body = decode_json(await request.body(self.ctx.settings.max_request_size), REQUEST_DECODER)
        plan = responses_request_to_plan(
            body,
            response_id=new_response_id(),
            created_at=int(time.time()),
            default_model=self.ctx.models.default_model,
            headers=request.headers,
            prior=await self._prior(body.previous_response_id, request.caller),
            references=await resolve_items(
                self.ctx.stores.responses,
                item_references(body.input),
                response_owner(request.caller),
            ),
            allow_server_tools=self.ctx.settings.enable_server_tools,
        )
        plan = msgspec.structs.replace(plan, turn=await self.ctx.agent.mode.prepare(plan.turn))
        save = self._saver(plan, request.caller)
        noted = [("x-ignored-fields", ", ".join(plan.ignored))] if plan.ignored else []
        if body.stream:
            stream = ResponsesStream(
                self.ctx.ops.usage.backend_for(request.caller, self.ctx.engine.backend), plan, save
            )
            return StreamResponse(stream.produce, stream.error_frame, headers=noted)
        record = RequestRecord()
        backend = RecordingBackend(
            self.ctx.ops.usage.backend_for(request.caller, self.ctx.engine.backend), record
        )
        completed = await complete_response(backend, plan, save)
        return json_response(completed, headers=[*record.headers(), *noted])

    async def retrieve(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        if request.query.get("stream", "").lower() == "true":
            raise InvalidRequestError(
                "Replaying a stored response as a stream is not supported.", param="stream"
            )
        stored = await self._stored(response_id, request.caller)
        if stored is None:
            raise _not_found(response_id)
        return json_response(stored.response)

    async def delete(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        if await self._stored(response_id, request.caller) is None:
            raise _not_found(response_id)
        if not await self.ctx.stores.responses.delete(response_id):
            raise _not_found(response_id)
        return json_response(rs.DeletedResponse(id=response_id))
