"""The model list endpoints: list, get one, status, refresh.

All four read or refresh the one served list (:class:`wrapper.models.served.ServedModels`):
``CLAUDE_MODELS_OVERRIDE``, else Anthropic's live catalogue when configured, else the
static catalogue.
"""

from __future__ import annotations

import msgspec

from wrapper.api.context import AppContext
from wrapper.errors import NotFoundError
from wrapper.http.request import Request
from wrapper.http.responses import Response, json_response
from wrapper.models.catalogue import ModelInfo
from wrapper.models.served import ModelsStatus, ServedModels
from wrapper.schemas.models import ModelList, ModelObject


def model_object(model: ModelInfo) -> ModelObject:
    return ModelObject(
        id=model.id,
        object="model",
        created=model.created,
        owned_by="anthropic",
        display_name=model.display_name,
        context_window=model.context_window or None,
        max_output_tokens=model.max_output_tokens or None,
    )


class RefreshResult(msgspec.Struct, frozen=True, kw_only=True):
    refreshed: bool
    message: str
    status: ModelsStatus


class ModelsAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def _models(self) -> tuple[ModelInfo, ...]:
        return await self.ctx.models.models()

    async def list(self, request: Request) -> Response:
        return json_response(ModelList(data=[model_object(m) for m in await self._models()]))

    async def get(self, request: Request) -> Response:
        model_id = request.path_params["model_id"]
        for model in await self._models():
            if model.id == model_id:
                return json_response(model_object(model))
        raise NotFoundError(f"The model {model_id!r} does not exist.", code="model_not_found")

    async def status(self, request: Request) -> Response:
        served = self._served()
        await served.models()
        return json_response(served.status())

    async def refresh(self, request: Request) -> Response:
        served = self._served()
        if served.pinned:
            message = "CLAUDE_MODELS_OVERRIDE pins the model list; nothing to refresh."
            refreshed = False
        elif served.source is None:
            message = "Live model discovery needs ANTHROPIC_API_KEY; serving the static catalogue."
            refreshed = False
        else:
            refreshed = await served.refresh()
            message = (
                "Fetched the live catalogue."
                if refreshed
                else f"The live fetch failed ({served.last_error}); serving the static catalogue."
            )
        return json_response(
            RefreshResult(refreshed=refreshed, message=message, status=served.status())
        )

    def _served(self) -> ServedModels:
        return self.ctx.models
