"""The route table: every endpoint, its handler, endpoint group, error dialect and Doc.

The router tries literal segments before ``{param}`` ones, so the order of the
table is for reading only. Each route's :class:`~wrapper.http.routing.Doc` names
the msgspec types its handler decodes and returns; ``GET /openapi.json`` is
generated from them, and a test fails for a route without one.
"""

from __future__ import annotations

from wrapper.api.agent_routes import agent_routes
from wrapper.api.chat import ChatAPI
from wrapper.api.context import AppContext
from wrapper.api.health import Health, HealthAPI, Readiness, Version
from wrapper.api.landing import Hello, LandingAPI, package_assets
from wrapper.api.messages import MessagesAPI
from wrapper.api.models import ModelsAPI, RefreshResult
from wrapper.api.openapi import OpenAPIAPI
from wrapper.api.operations import AuthStatus, CacheCleared, DebugReport, OperationsAPI
from wrapper.api.pool import PoolAPI, PoolStatus
from wrapper.api.responses import ResponsesAPI
from wrapper.api.sessions import SessionsAPI
from wrapper.api.usage import UsageAPI, UsageReport, UsageReset
from wrapper.http.routing import Doc, Route, Router
from wrapper.models.served import ModelsStatus
from wrapper.monitoring.deep_health import DeepHealthResult
from wrapper.policy.response_cache import CacheStats
from wrapper.schemas import anthropic, anthropic_output, models, openai_chat, sessions
from wrapper.schemas import openai_responses as responses_in
from wrapper.schemas import openai_responses_output as responses_out
from wrapper.translate.openai_chat.fields import Compatibility

_HELLO = [{"role": "user", "content": "Hello!"}]
_MODEL = "claude-sonnet-4-6"


def build_router(ctx: AppContext) -> Router:
    chat = ChatAPI(ctx)
    models_api = ModelsAPI(ctx)
    health = HealthAPI(ctx)
    pool = PoolAPI(ctx)
    messages = MessagesAPI(ctx)
    responses = ResponsesAPI(ctx)
    ops = OperationsAPI(ctx)
    sessions_api = SessionsAPI(ctx)
    usage = UsageAPI(ctx)
    landing = LandingAPI(package_assets())
    openapi = OpenAPIAPI()
    router = Router(
        [
            # The server's face: public pages and the API description
            Route(
                "GET",
                "/",
                landing.page,
                name="landing",
                group="health",
                auth=False,
                doc=Doc(
                    "The landing page: live status, endpoints and a playground",
                    media_type="text/html",
                    head=True,
                ),
            ),
            Route(
                "GET",
                "/static/{name}",
                landing.asset,
                name="static",
                group="health",
                auth=False,
                doc=Doc("A file of the landing page (script, styles)", media_type="*/*"),
            ),
            Route(
                "GET",
                "/openapi.json",
                openapi.document,
                name="openapi",
                group="health",
                auth=False,
                doc=Doc("This OpenAPI 3.1 document", response=dict[str, object]),
            ),
            Route(
                "GET",
                "/docs",
                landing.docs,
                name="docs",
                group="health",
                auth=False,
                doc=Doc("The API reference, rendered from /openapi.json", media_type="text/html"),
            ),
            Route(
                "GET",
                "/api/hello",
                landing.hello,
                name="hello",
                group="health",
                auth=False,
                doc=Doc(
                    "Answers the connection probe Claude Code sends", response=Hello, head=True
                ),
            ),
            # Health
            Route(
                "GET",
                "/health",
                health.health,
                name="health",
                group="health",
                auth=False,
                doc=Doc("Liveness (no upstream call)", response=Health),
            ),
            Route(
                "GET",
                "/healthz/ready",
                health.ready,
                name="healthz.ready",
                group="health",
                auth=False,
                doc=Doc(
                    "Readiness: the pool has a warm process (no upstream call)",
                    response=Readiness,
                    statuses={503: Readiness},
                ),
            ),
            Route(
                "GET",
                "/version",
                health.version,
                name="version",
                group="health",
                auth=False,
                doc=Doc("Server, SDK and CLI versions", response=Version),
            ),
            Route(
                "GET",
                "/healthz/deep",
                ops.deep_health,
                name="healthz.deep",
                group="health",
                doc=Doc(
                    "Deep health: a real (cached) round trip through the CLI",
                    response=DeepHealthResult,
                    statuses={503: DeepHealthResult},
                ),
            ),
            # OpenAI Chat Completions
            Route(
                "POST",
                "/v1/chat/completions",
                chat.completions,
                name="chat",
                group="chat",
                doc=Doc(
                    'Create a chat completion (streamed with "stream": true)',
                    body=openai_chat.ChatCompletionRequest,
                    response=openai_chat.ChatCompletion,
                    stream=openai_chat.ChatCompletionChunk,
                    example={"model": _MODEL, "messages": _HELLO},
                ),
            ),
            Route(
                "POST",
                "/v1/compatibility",
                chat.compatibility,
                name="compatibility",
                doc=Doc(
                    "What the server would do with each field of a chat request",
                    body=openai_chat.ChatCompletionRequest,
                    response=Compatibility,
                    example={"model": _MODEL, "messages": _HELLO, "logprobs": True},
                ),
            ),
            # Anthropic Messages
            Route(
                "POST",
                "/v1/messages",
                messages.create,
                name="messages",
                group="chat",
                dialect="anthropic",
                doc=Doc(
                    'Create a message (streamed with "stream": true)',
                    body=anthropic.MessagesRequest,
                    response=anthropic_output.Message,
                    stream=anthropic_output.StreamEvent,
                    example={"model": _MODEL, "max_tokens": 1024, "messages": _HELLO},
                ),
            ),
            Route(
                "POST",
                "/v1/messages/count_tokens",
                messages.count_tokens,
                name="messages.count_tokens",
                dialect="anthropic",
                doc=Doc(
                    "Count the input tokens of a message request",
                    body=anthropic.CountTokensRequest,
                    response=anthropic.CountTokensResponse,
                    example={"model": _MODEL, "messages": _HELLO},
                ),
            ),
            # OpenAI Responses
            Route(
                "POST",
                "/v1/responses",
                responses.create,
                name="responses",
                group="chat",
                doc=Doc(
                    'Create a response (streamed with "stream": true)',
                    body=responses_in.CreateResponseRequest,
                    response=responses_out.Response,
                    stream=responses_out.StreamEvent,
                    example={"model": _MODEL, "input": "Hello!"},
                ),
            ),
            Route(
                "GET",
                "/v1/responses/{response_id}",
                responses.retrieve,
                name="responses.get",
                doc=Doc(
                    "A stored response",
                    response=responses_out.Response,
                    query={"stream": "true is refused: a stored response is not replayed"},
                ),
            ),
            Route(
                "DELETE",
                "/v1/responses/{response_id}",
                responses.delete,
                name="responses.delete",
                doc=Doc("Delete a stored response", response=responses_out.DeletedResponse),
            ),
            # Models
            Route(
                "GET",
                "/v1/models",
                models_api.list,
                name="models.list",
                doc=Doc("The served models", response=models.ModelList),
            ),
            Route(
                "GET",
                "/v1/models/{model_id}",
                models_api.get,
                name="models.get",
                doc=Doc("One model", response=models.ModelObject),
            ),
            Route(
                "GET",
                "/v1/models/status",
                models_api.status,
                name="models.status",
                doc=Doc("Where the model list comes from", response=ModelsStatus),
            ),
            Route(
                "POST",
                "/v1/models/refresh",
                models_api.refresh,
                name="models.refresh",
                admin=True,
                doc=Doc("Fetch the live model catalogue again", response=RefreshResult),
            ),
            # Client sessions
            Route(
                "GET",
                "/v1/sessions",
                sessions_api.list,
                name="sessions.list",
                group="sessions",
                doc=Doc("The server-side sessions", response=sessions.SessionList),
            ),
            Route(
                "GET",
                "/v1/sessions/stats",
                sessions_api.stats,
                name="sessions.stats",
                group="sessions",
                doc=Doc("Session counts and the store", response=sessions.SessionStatsObject),
            ),
            Route(
                "GET",
                "/v1/sessions/{session_id}",
                sessions_api.get,
                name="sessions.get",
                group="sessions",
                doc=Doc("One session", response=sessions.SessionObject),
            ),
            Route(
                "DELETE",
                "/v1/sessions/{session_id}",
                sessions_api.delete,
                name="sessions.delete",
                group="sessions",
                doc=Doc("Delete a session", response=sessions.SessionDeleted),
            ),
            *agent_routes(ctx),
            # Operations
            Route(
                "GET",
                "/v1/pool/status",
                pool.status,
                name="pool.status",
                doc=Doc(
                    "The warm process pool, the turn queue and the circuit breaker",
                    response=PoolStatus,
                ),
            ),
            Route(
                "GET",
                "/metrics",
                ops.metrics,
                name="metrics",
                admin=True,
                doc=Doc("Prometheus metrics (admin keys)", media_type="text/plain"),
            ),
            Route(
                "GET",
                "/v1/usage",
                usage.usage,
                name="usage",
                group="auth",
                doc=Doc(
                    "The Claude plan's usage windows, and what each client key spent",
                    response=UsageReport,
                    query={"key": "One key's usage (another key's needs an admin key)"},
                    description=(
                        "Every window the CLI reported (five-hour, seven-day, per-model "
                        "weekly, overage) with its status, utilisation, reset and the age "
                        "of the reading; the closest window first. A user key sees its own "
                        "spend, an admin key every key's."
                    ),
                ),
            ),
            Route(
                "DELETE",
                "/v1/usage/keys/{name}",
                usage.reset_key,
                name="usage.reset",
                group="auth",
                admin=True,
                doc=Doc(
                    "Start a client key's counters over, restoring its budgets (admin keys)",
                    response=UsageReset,
                ),
            ),
            Route(
                "GET",
                "/v1/auth/status",
                ops.auth_status,
                name="auth.status",
                group="auth",
                doc=Doc("How the CLI authenticates upstream, and its login", response=AuthStatus),
            ),
            Route(
                "GET",
                "/v1/cache/stats",
                ops.cache_stats,
                name="cache.stats",
                doc=Doc("The response cache", response=CacheStats),
            ),
            Route(
                "POST",
                "/v1/cache/clear",
                ops.cache_clear,
                name="cache.clear",
                admin=True,
                doc=Doc("Empty the response cache", response=CacheCleared),
            ),
            Route(
                "POST",
                "/v1/debug/request",
                ops.debug_request,
                name="debug",
                group="debug",
                admin=True,
                doc=Doc(
                    "Echo the request, credentials redacted (DEBUG_MODE or VERBOSE only)",
                    response=DebugReport,
                ),
            ),
        ]
    )
    openapi.describe(router.routes)
    return router
