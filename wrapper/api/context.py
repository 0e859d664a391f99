"""The dependencies handlers share, built once in the app's lifespan."""

from __future__ import annotations

import time

import msgspec

from wrapper.backend.admission import Admission
from wrapper.backend.layers.breaker import CircuitBreaker
from wrapper.backend.pool import ProcessPool
from wrapper.config import Settings
from wrapper.events import Backend
from wrapper.models.catalogue import ModelInfo
from wrapper.models.served import ServedModels
from wrapper.monitoring.deep_health import DeepHealth
from wrapper.monitoring.metrics import Metrics
from wrapper.policy.request_hooks import RequestHooks
from wrapper.policy.response_cache import ResponseCache
from wrapper.sessions.service import SessionManager
from wrapper.storage.responses import MemoryResponseStore, ResponseStore
from wrapper.upstream.auth import UpstreamAuth
from wrapper.upstream.count_tokens import UpstreamTokenCounter
from wrapper.upstream.login import CliLoginHealth


class AppContext(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a handler may use; no handler reaches for a global."""

    settings: Settings
    backend: Backend
    models: tuple[ModelInfo, ...]
    default_model: str
    sdk_version: str = "unknown"
    cli_version: str = "unknown"
    # -- pool (issue 5) --
    pool: ProcessPool | None = None
    admission: Admission | None = None
    # -- Anthropic Messages (issue 4): fields below this line --
    token_counter: UpstreamTokenCounter | None = None
    # -- OpenAI Responses (issue 4): fields below this line --
    response_store: ResponseStore = msgspec.field(default_factory=MemoryResponseStore)
    # -- sessions (issue 6): fields below this line --
    sessions: SessionManager | None = None
    # -- operations (issue 7): fields below this line --
    served_models: ServedModels | None = None
    upstream_auth: UpstreamAuth | None = None
    cli_login: CliLoginHealth | None = None
    metrics: Metrics | None = None
    response_cache: ResponseCache | None = None
    request_hooks: RequestHooks | None = None
    deep_health: DeepHealth | None = None
    circuit_breaker: CircuitBreaker | None = None
    started_at: float = msgspec.field(default_factory=time.time)
