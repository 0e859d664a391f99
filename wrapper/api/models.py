"""``GET /v1/models`` and ``GET /v1/models/{id}``."""

from __future__ import annotations

from wrapper.api.context import AppContext
from wrapper.errors import NotFoundError
from wrapper.http.request import Request
from wrapper.http.responses import Response, json_response
from wrapper.models_catalogue import ModelInfo
from wrapper.schemas.models import ModelList, ModelObject


def model_object(model: ModelInfo) -> ModelObject:
    return ModelObject(
        id=model.id,
        object="model",
        created=model.created,
        owned_by="anthropic",
        display_name=model.display_name,
        context_window=model.context_window,
        max_output_tokens=model.max_output_tokens,
    )


class ModelsAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def list(self, request: Request) -> Response:
        return json_response(ModelList(data=[model_object(m) for m in self.ctx.models]))

    async def get(self, request: Request) -> Response:
        model_id = request.path_params["model_id"]
        for model in self.ctx.models:
            if model.id == model_id:
                return json_response(model_object(model))
        raise NotFoundError(f"The model {model_id!r} does not exist.", code="model_not_found")
