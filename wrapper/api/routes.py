"""The route table: every endpoint, its handler, endpoint group and error dialect.

The router tries literal segments before ``{param}`` ones, so the order of the
table is for reading only.
"""

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
    ops = OperationsAPI(ctx)
    sessions = SessionsAPI(ctx)
    return Router(
        [
            Route("GET", "/", landing, name="landing", group="health", auth=False),
            Route("GET", "/api/hello", landing, name="hello", group="health", auth=False),
            Route("GET", "/health", health.health, name="health", group="health", auth=False),
            Route("GET", "/version", health.version, name="version", group="health", auth=False),
            Route("GET", "/healthz/deep", ops.deep_health, name="healthz.deep", group="health"),
            # OpenAI Chat Completions
            Route("POST", "/v1/chat/completions", chat.completions, name="chat", group="chat"),
            Route("POST", "/v1/compatibility", chat.compatibility, name="compatibility"),
            # Anthropic Messages
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
                dialect="anthropic",
            ),
            # OpenAI Responses
            Route("POST", "/v1/responses", responses.create, name="responses", group="chat"),
            Route("GET", "/v1/responses/{response_id}", responses.retrieve, name="responses.get"),
            Route(
                "DELETE", "/v1/responses/{response_id}", responses.delete, name="responses.delete"
            ),
            # Models
            Route("GET", "/v1/models", models.list, name="models.list"),
            Route("GET", "/v1/models/{model_id}", models.get, name="models.get"),
            Route("GET", "/v1/models/status", models.status, name="models.status"),
            Route("POST", "/v1/models/refresh", models.refresh, name="models.refresh"),
            # Client sessions
            Route("GET", "/v1/sessions", sessions.list, name="sessions.list", group="sessions"),
            Route(
                "GET", "/v1/sessions/stats", sessions.stats, name="sessions.stats", group="sessions"
            ),
            Route(
                "GET",
                "/v1/sessions/{session_id}",
                sessions.get,
                name="sessions.get",
                group="sessions",
            ),
            Route(
                "DELETE",
                "/v1/sessions/{session_id}",
                sessions.delete,
                name="sessions.delete",
                group="sessions",
            ),
            # Operations
            Route("GET", "/v1/pool/status", pool.status, name="pool.status"),
            Route("GET", "/metrics", ops.metrics, name="metrics"),
            Route("GET", "/v1/auth/status", ops.auth_status, name="auth.status", group="auth"),
            Route("GET", "/v1/cache/stats", ops.cache_stats, name="cache.stats"),
            Route("POST", "/v1/cache/clear", ops.cache_clear, name="cache.clear"),
            Route("POST", "/v1/debug/request", ops.debug_request, name="debug", group="debug"),
        ]
    )
