"""The dependencies handlers share, built once in the app's lifespan (``wrapper.wiring``).

Every component is always present: where a feature is off, a null object stands
in for it (the cold backend's :class:`~wrapper.backend.pool_view.NoPool`, the
:class:`~wrapper.upstream.count_tokens.NoTokenCounter` without an API key, a
disabled cache or breaker), so a handler never checks whether something exists.
"""

from __future__ import annotations

import msgspec

from wrapper.agent.prepare import AgentMode
from wrapper.backend.admission import Admission
from wrapper.backend.layers.breaker import CircuitBreaker
from wrapper.backend.pool_view import PoolView
from wrapper.backend.workspaces import Workspaces
from wrapper.config import Settings
from wrapper.events import Backend
from wrapper.models.served import ServedModels
from wrapper.monitoring.deep_health import DeepHealth
from wrapper.monitoring.metrics import Metrics
from wrapper.monitoring.tool_runs import ToolRunStats
from wrapper.policy.api_keys import ApiKeys
from wrapper.policy.cors import CorsPolicy
from wrapper.policy.key_usage import UsageAccounting
from wrapper.policy.request_hooks import RequestHooks
from wrapper.policy.response_cache import ResponseCache
from wrapper.sessions.service import SessionManager
from wrapper.storage.responses import ResponseStore
from wrapper.upstream.auth import UpstreamAuth
from wrapper.upstream.count_tokens import TokenCounter
from wrapper.upstream.login import CliLoginHealth


class Engine(msgspec.Struct, frozen=True, kw_only=True):
    """How turns run: the layered backend, its pool, the turn queue and the breaker."""

    backend: Backend
    pool: PoolView
    admission: Admission
    breaker: CircuitBreaker


class Upstream(msgspec.Struct, frozen=True, kw_only=True):
    """Claude's side: how the CLI authenticates, its login's health, the token counter."""

    auth: UpstreamAuth
    login: CliLoginHealth
    token_counter: TokenCounter


class Stores(msgspec.Struct, frozen=True, kw_only=True):
    """State that outlives a request: client sessions and stored responses."""

    sessions: SessionManager
    responses: ResponseStore


class Operations(msgspec.Struct, frozen=True, kw_only=True):
    """What watches and shapes requests: metrics, the response cache, the request hooks."""

    metrics: Metrics
    tool_runs: ToolRunStats
    cache: ResponseCache
    hooks: RequestHooks
    deep_health: DeepHealth
    api_keys: ApiKeys
    usage: UsageAccounting
    cors: CorsPolicy


class Agent(msgspec.Struct, frozen=True, kw_only=True):
    """Claude Code's own tools: their config and MCP registry, and the workspaces."""

    mode: AgentMode
    workspaces: Workspaces


class Versions(msgspec.Struct, frozen=True, kw_only=True):
    sdk: str
    cli: str


class AppContext(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a handler may use; no handler reaches for a global."""

    settings: Settings
    engine: Engine
    models: ServedModels
    upstream: Upstream
    stores: Stores
    ops: Operations
    agent: Agent
    versions: Versions
    started_at: float
