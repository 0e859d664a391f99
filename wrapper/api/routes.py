"""The route table: every endpoint, its handler, endpoint group and error dialect."""

from __future__ import annotations

from wrapper.api.chat import ChatAPI
from wrapper.api.context import AppContext
from wrapper.api.health import HealthAPI
from wrapper.api.models import ModelsAPI
from wrapper.http.routing import Route, Router


def build_router(ctx: AppContext) -> Router:
    chat = ChatAPI(ctx)
    models = ModelsAPI(ctx)
    health = HealthAPI(ctx)
    return Router(
        [
            Route("GET", "/health", health.health, name="health", group="health", auth=False),
            Route("GET", "/version", health.version, name="version", group="health", auth=False),
            Route("POST", "/v1/chat/completions", chat.completions, name="chat", group="chat"),
            # -- Anthropic Messages (issue 4): routes below this line --
            # -- OpenAI Responses (issue 4): routes below this line --
            # -- sessions (issue 6): routes below this line --
            # -- operations (issue 7): routes below this line --
            # Literal /v1/models/... routes must come before the {model_id} route.
            Route("GET", "/v1/models", models.list, name="models.list"),
            Route("GET", "/v1/models/{model_id}", models.get, name="models.get"),
        ]
    )
