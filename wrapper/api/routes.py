"""The route table: every endpoint, its handler, endpoint group and error dialect."""

from __future__ import annotations

from wrapper.api.chat import ChatAPI
from wrapper.api.context import AppContext
from wrapper.api.health import HealthAPI
from wrapper.api.landing import landing
from wrapper.api.messages import MessagesAPI
from wrapper.api.models import ModelsAPI
from wrapper.api.operations import OperationsAPI
from wrapper.api.pool import PoolAPI
from wrapper.api.responses import ResponsesAPI
from wrapper.api.sessions import SessionsAPI
from wrapper.http.routing import Route, Router


def build_router(ctx: AppContext) -> Router:
    chat = ChatAPI(ctx)
    models = ModelsAPI(ctx)
    health = HealthAPI(ctx)
    pool = PoolAPI(ctx)
    messages = MessagesAPI(ctx)
    responses = ResponsesAPI(ctx)
    ops = OperationsAPI(ctx)  # operations (issue 7)
    session_api = SessionsAPI(ctx)  # sessions (issue 6)
    return Router(
        [
            Route("GET", "/", landing, name="landing", group="health", auth=False),
            Route("GET", "/api/hello", landing, name="hello", group="health", auth=False),
            Route("GET", "/health", health.health, name="health", group="health", auth=False),
            Route("GET", "/version", health.version, name="version", group="health", auth=False),
            Route("POST", "/v1/chat/completions", chat.completions, name="chat", group="chat"),
            Route("POST", "/v1/compatibility", chat.compatibility, name="compatibility"),
            Route("GET", "/v1/pool/status", pool.status, name="pool.status"),
            # -- Anthropic Messages (issue 4): routes below this line --
            Route(
                "POST",
                "/v1/messages",
                messages.create,
                name="messages",
                group="chat",
                dialect="anthropic",
            ),
            Route(
                "POST",
                "/v1/messages/count_tokens",
                messages.count_tokens,
                name="messages.count_tokens",
                group="general",
                dialect="anthropic",
            ),
            # -- OpenAI Responses (issue 4): routes below this line --
            Route("POST", "/v1/responses", responses.create, name="responses", group="chat"),
            Route("GET", "/v1/responses/{response_id}", responses.retrieve, name="responses.get"),
            Route(
                "DELETE", "/v1/responses/{response_id}", responses.delete, name="responses.delete"
            ),
            # -- sessions (issue 6): routes below this line --
            # The literal /v1/sessions/stats must come before the {session_id} route.
            Route("GET", "/v1/sessions", session_api.list, name="sessions.list", group="sessions"),
            Route(
                "GET",
                "/v1/sessions/stats",
                session_api.stats,
                name="sessions.stats",
                group="sessions",
            ),
            Route(
                "GET",
                "/v1/sessions/{session_id}",
                session_api.get,
                name="sessions.get",
                group="sessions",
            ),
            Route(
                "DELETE",
                "/v1/sessions/{session_id}",
                session_api.delete,
                name="sessions.delete",
                group="sessions",
            ),
            # -- operations (issue 7): routes below this line --
            Route("GET", "/healthz/deep", ops.deep_health, name="healthz.deep", group="health"),
            Route("GET", "/metrics", ops.metrics, name="metrics"),
            Route("GET", "/v1/auth/status", ops.auth_status, name="auth.status", group="auth"),
            Route("GET", "/v1/cache/stats", ops.cache_stats, name="cache.stats"),
            Route("POST", "/v1/cache/clear", ops.cache_clear, name="cache.clear"),
            Route("POST", "/v1/debug/request", ops.debug_request, name="debug", group="debug"),
            Route("GET", "/v1/models/status", models.status, name="models.status"),
            Route("POST", "/v1/models/refresh", models.refresh, name="models.refresh"),
            # Literal /v1/models/... routes must come before the {model_id} route.
            Route("GET", "/v1/models", models.list, name="models.list"),
            Route("GET", "/v1/models/{model_id}", models.get, name="models.get"),
        ]
    )
