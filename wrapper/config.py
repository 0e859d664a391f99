"""Settings, read once from the environment and validated.

The variable names are the ones users of the existing wrapper already know
(``PORT``, ``API_KEY``, ``MAX_TIMEOUT``...). A bad value fails at startup with a
message that names the variable. ``.env.example`` documents every variable read
here; a test keeps the two in step.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec


class ConfigError(Exception):
    """A variable holds a value this server cannot use."""


_MIB = 1024 * 1024


class PoolSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The warm process pool (``POOL_*``)."""

    enabled: bool = True
    max_processes: int = 8
    min_warm: int = 1
    spares_per_profile: int = 1
    unbound_spares: int = 1
    idle_timeout_s: float = 600.0
    affinity_ttl_s: float = 600.0
    max_turns_per_process: int = 1000
    max_rss_bytes: int = 450 * _MIB
    park_timeout_s: float = 300.0
    freeze_after_s: float = 5.0
    maintenance_interval_s: float = 1.0
    # "clear": a process is reused for a new conversation after /clear (fast; the CLI
    # then shows the next conversation a short record that /clear ran). "replace": a
    # process serves one conversation only and is replaced (pristine, ~0.3 CPU-s each).
    reset: str = "clear"


class QueueSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The cap on turns in flight and the queue before it."""

    max_concurrent_turns: int | None = None
    max_queued_turns: int = 64
    timeout_s: float = 30.0


class SessionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Client sessions and the store that keeps them."""

    store_url: str | None = None
    ttl_s: int = 3600


class RateLimitSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Requests per minute and client address, per endpoint group (0: not limited)."""

    enabled: bool = True
    general: int = 30
    chat: int = 10
    debug: int = 2
    auth: int = 10
    sessions: int = 15
    health: int = 30


class ModelSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The model list: the default, an override, and the live catalogue."""

    default_model: str | None = None
    override: tuple[str, ...] = ()
    live_url: str | None = None
    anthropic_version: str = "2023-06-01"
    anthropic_beta: str | None = None
    cache_ttl_s: float = 3600.0
    error_ttl_s: float = 60.0
    request_timeout_s: float = 5.0


class CacheSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The opt-in response cache."""

    enabled: bool = False
    ttl_s: float = 60.0
    max_size: int = 100


class RetrySettings(msgspec.Struct, frozen=True, kw_only=True):
    """Retries before any output, and the fallback model after overloads."""

    retries: int = 2
    base_s: float = 0.5
    max_s: float = 8.0
    fallback_model: str | None = None
    fallback_after_overloads: int = 2


class BreakerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The circuit breaker in front of the backend."""

    enabled: bool = True
    window_s: float = 60.0
    threshold: float = 0.75
    min_requests: int = 20
    open_s: float = 30.0


class UpstreamSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the CLI authenticates upstream, and how often its login is checked."""

    auth_method: str | None = None
    probe_interval_s: float = 600.0


class KeySettings(msgspec.Struct, frozen=True, kw_only=True):
    """Named client keys (``API_KEYS``, ``API_KEYS_FILE``) and the budgets of user keys."""

    api_keys: tuple[tuple[str, str, str], ...] = ()
    """(name, key, role) of each ``API_KEYS`` entry."""
    keys_file: str | None = None
    requests_per_minute: int = 0
    tokens_per_day: int = 0
    usd_per_month: float = 0.0
    quota_guard: bool = False
    """Refuse turns early (429) while a window of the Claude plan is rejected."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of the server. Built by :func:`load_settings`."""

    port: int = 8000
    # Unset: every interface with API_KEY, loopback only without (see bind_host).
    host: str | None = None
    max_timeout_ms: int = 600_000
    max_request_size: int = 10 * _MIB
    claude_cwd: str | None = None
    api_key: str | None = None
    # Unset: any origin with API_KEY, none without (see cors_allowed).
    cors_origins: tuple[str, ...] | None = None
    allowed_hosts: tuple[str, ...] | None = None
    data_dir: str = "data"
    log_format: str = "auto"
    log_level: str = "info"
    debug_mode: bool = False
    verbose: bool = False
    ping_interval_s: float = 10.0
    stream_write_timeout_s: float = 30.0
    first_byte_deadline_s: float = 10.0
    shutdown_grace_s: float = 30.0
    keep_alive_s: float = 75.0
    body_timeout_s: float = 30.0
    enable_server_tools: bool = False
    default_max_turns: int = 10
    tools_sandbox: str = "auto"
    load_filesystem_settings: bool = False
    trusted_proxies: tuple[str, ...] = ()
    cli_env_passthrough: tuple[str, ...] = ()
    deep_health_cache_s: float = 30.0
    max_turn_cpu_s: float = 120.0
    pool: PoolSettings = PoolSettings()
    queue: QueueSettings = QueueSettings()
    sessions: SessionSettings = SessionSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    models: ModelSettings = ModelSettings()
    cache: CacheSettings = CacheSettings()
    retry: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    keys: KeySettings = KeySettings()
    environ: dict[str, str] = msgspec.field(default_factory=dict)
    """The process environment when the settings were read: the one place it is read."""

    @property
    def keyless(self) -> bool:
        """No client key at all (``API_KEY``, ``API_KEYS`` or a keys file): an open server."""
        return self.api_key is None and not self.keys.api_keys and not self.keys.keys_file

    @property
    def bind_host(self) -> str:
        """``CLAUDE_WRAPPER_HOST``, else every interface with a key and loopback without one."""
        if self.host is not None:
            return self.host
        return "127.0.0.1" if self.keyless else "0.0.0.0"  # noqa: S104

    @property
    def cors_allowed(self) -> tuple[str, ...]:
        """``CORS_ORIGINS``, else any origin with a key and none without one."""
        if self.cors_origins is not None:
            return self.cors_origins
        return () if self.keyless else ("*",)

    @property
    def has_client_keys(self) -> bool:
        """Whether any client key is configured (``API_KEY``, ``API_KEYS``, ``API_KEYS_FILE``)."""
        return not self.keyless

    @property
    def max_timeout_s(self) -> float:
        """``MAX_TIMEOUT`` in seconds."""
        return self.max_timeout_ms / 1000.0

    @property
    def max_concurrent_turns(self) -> int:
        """``MAX_CONCURRENT_TURNS``, else one turn per pooled process (16 without a pool)."""
        limit = self.queue.max_concurrent_turns
        if limit is not None:
            return limit
        return self.pool.max_processes if self.pool.enabled else 16


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _parse_positive_int(raw: str) -> int:
    value = int(raw.strip())
    if value <= 0:
        raise ValueError("expected a positive integer")
    return value


def _parse_port(raw: str) -> int:
    value = int(raw.strip())
    if not 0 < value < 65536:
        raise ValueError("expected a port number between 1 and 65535")
    return value


def _parse_positive_float(raw: str) -> float:
    value = float(raw.strip())
    if value <= 0:
        raise ValueError("expected a positive number")
    return value


def _parse_origins(raw: str) -> tuple[str, ...]:
    text = raw.strip()
    if not text:
        return ()
    if text.startswith("["):
        value = json.loads(text)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a JSON array of strings")
        return tuple(value)
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _parse_csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parse_api_keys(raw: str) -> tuple[tuple[str, str, str], ...]:
    """``name:key[:role]`` entries, comma-separated (role ``user`` unless ``admin``)."""
    entries: list[tuple[str, str, str]] = []
    for part in _parse_csv(raw):
        name, _, rest = part.partition(":")
        key, _, role = rest.partition(":")
        role = role.strip().lower() or "user"
        if not name.strip() or not key.strip():
            raise ValueError("expected name:key[:role] entries separated by commas")
        if role not in ("admin", "user"):
            raise ValueError(f"role {role!r} of {name.strip()!r} is not admin or user")
        entries.append((name.strip(), key.strip(), role))
    return tuple(entries)


def _parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def _parse_text(raw: str) -> str | None:
    value = raw.strip()
    return value or None


def _parse_directory(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ValueError("directory does not exist")
    return str(path.resolve())


def _parse_non_negative_int(raw: str) -> int:
    value = int(raw.strip())
    if value < 0:
        raise ValueError("expected 0 or a positive integer")
    return value


def _parse_non_negative_float(raw: str) -> float:
    value = float(raw.strip())
    if value < 0 or value != value:  # noqa: PLR0124 - rejects NaN
        raise ValueError("expected 0 or a positive number")
    return value


def _parse_networks(raw: str) -> tuple[str, ...]:
    """IP addresses or CIDR networks, comma-separated (normalised)."""
    return tuple(str(ipaddress.ip_network(part, strict=False)) for part in _parse_csv(raw))


def _parse_ratio(raw: str) -> float:
    value = float(raw.strip())
    if not 0 < value <= 1:
        raise ValueError("expected a number above 0 and at most 1")
    return value


def _parse_http_url(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value


_AUTH_METHODS = {
    "cli": "cli",
    "claude_cli": "cli",
    "api_key": "api_key",
    "anthropic": "api_key",
    "bedrock": "bedrock",
    "vertex": "vertex",
}


def _parse_auth_method(raw: str) -> str | None:
    value = raw.strip().lower()
    if not value:
        return None
    if value not in _AUTH_METHODS:
        raise ValueError("expected one of cli, api_key, bedrock, vertex")
    return _AUTH_METHODS[value]


def _parse_megabytes(raw: str) -> int:
    return _parse_positive_int(raw) * _MIB


# (environment variable, Settings field or "group.field", parser), in documentation order.
_SPEC: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("PORT", "port", _parse_port),
    ("CLAUDE_WRAPPER_HOST", "host", _parse_text),
    ("MAX_TIMEOUT", "max_timeout_ms", _parse_positive_int),
    ("MAX_REQUEST_SIZE", "max_request_size", _parse_positive_int),
    ("CLAUDE_CWD", "claude_cwd", _parse_directory),
    ("API_KEY", "api_key", _parse_text),
    ("API_KEYS", "keys.api_keys", _parse_api_keys),
    ("API_KEYS_FILE", "keys.keys_file", _parse_text),
    ("KEY_REQUESTS_PER_MINUTE", "keys.requests_per_minute", _parse_non_negative_int),
    ("KEY_TOKENS_PER_DAY", "keys.tokens_per_day", _parse_non_negative_int),
    ("KEY_USD_PER_MONTH", "keys.usd_per_month", _parse_non_negative_float),
    ("QUOTA_GUARD", "keys.quota_guard", _parse_bool),
    ("DEFAULT_MODEL", "models.default_model", _parse_text),
    ("CORS_ORIGINS", "cors_origins", _parse_origins),
    ("ALLOWED_HOSTS", "allowed_hosts", _parse_csv),
    ("CLAUDE_MODELS_OVERRIDE", "models.override", _parse_csv),
    ("DATA_DIR", "data_dir", lambda raw: raw.strip() or "data"),
    ("LOG_FORMAT", "log_format", _parse_choice("auto", "json", "console")),
    ("LOG_LEVEL", "log_level", _parse_choice("debug", "info", "warning", "error")),
    ("DEBUG_MODE", "debug_mode", _parse_bool),
    ("SSE_PING_INTERVAL_SECONDS", "ping_interval_s", _parse_positive_float),
    ("STREAM_WRITE_TIMEOUT_SECONDS", "stream_write_timeout_s", _parse_positive_float),
    ("FIRST_BYTE_DEADLINE_SECONDS", "first_byte_deadline_s", _parse_positive_float),
    ("SHUTDOWN_GRACE_SECONDS", "shutdown_grace_s", _parse_positive_float),
    ("KEEP_ALIVE_SECONDS", "keep_alive_s", _parse_positive_float),
    ("BODY_TIMEOUT_SECONDS", "body_timeout_s", _parse_positive_float),
    ("ENABLE_SERVER_TOOLS", "enable_server_tools", _parse_bool),
    ("WRAPPER_DEFAULT_MAX_TURNS", "default_max_turns", _parse_positive_int),
    ("TOOLS_SANDBOX", "tools_sandbox", _parse_choice("auto", "on", "off")),
    ("LOAD_FILESYSTEM_SETTINGS", "load_filesystem_settings", _parse_bool),
    ("POOL_ENABLED", "pool.enabled", _parse_bool),
    ("POOL_MAX_PROCESSES", "pool.max_processes", _parse_positive_int),
    ("POOL_MIN_WARM", "pool.min_warm", _parse_non_negative_int),
    ("POOL_SPARES_PER_PROFILE", "pool.spares_per_profile", _parse_non_negative_int),
    ("POOL_UNBOUND_SPARES", "pool.unbound_spares", _parse_non_negative_int),
    ("POOL_IDLE_TIMEOUT_SECONDS", "pool.idle_timeout_s", _parse_positive_float),
    ("POOL_AFFINITY_TTL_SECONDS", "pool.affinity_ttl_s", _parse_positive_float),
    ("POOL_MAX_TURNS_PER_PROCESS", "pool.max_turns_per_process", _parse_positive_int),
    ("POOL_MAX_RSS_MB", "pool.max_rss_bytes", _parse_megabytes),
    ("POOL_TOOL_PARK_SECONDS", "pool.park_timeout_s", _parse_positive_float),
    ("POOL_FREEZE_IDLE_SECONDS", "pool.freeze_after_s", _parse_non_negative_float),
    ("POOL_RESET", "pool.reset", _parse_choice("clear", "replace")),
    ("MAX_CONCURRENT_TURNS", "queue.max_concurrent_turns", _parse_positive_int),
    ("MAX_QUEUED_TURNS", "queue.max_queued_turns", _parse_non_negative_int),
    ("QUEUE_TIMEOUT_SECONDS", "queue.timeout_s", _parse_positive_float),
    ("SESSION_STORE_URL", "sessions.store_url", _parse_text),
    ("SESSION_TTL_SECONDS", "sessions.ttl_s", _parse_positive_int),
    ("RATE_LIMIT_ENABLED", "rate_limits.enabled", _parse_bool),
    ("RATE_LIMIT_PER_MINUTE", "rate_limits.general", _parse_non_negative_int),
    ("RATE_LIMIT_CHAT_PER_MINUTE", "rate_limits.chat", _parse_non_negative_int),
    ("RATE_LIMIT_DEBUG_PER_MINUTE", "rate_limits.debug", _parse_non_negative_int),
    ("RATE_LIMIT_AUTH_PER_MINUTE", "rate_limits.auth", _parse_non_negative_int),
    ("RATE_LIMIT_SESSION_PER_MINUTE", "rate_limits.sessions", _parse_non_negative_int),
    ("RATE_LIMIT_HEALTH_PER_MINUTE", "rate_limits.health", _parse_non_negative_int),
    ("TRUSTED_PROXIES", "trusted_proxies", _parse_networks),
    ("CLAUDE_AUTH_METHOD", "upstream.auth_method", _parse_auth_method),
    ("CLI_AUTH_PROBE_INTERVAL_SECONDS", "upstream.probe_interval_s", _parse_non_negative_float),
    ("ANTHROPIC_MODELS_URL", "models.live_url", _parse_http_url),
    ("ANTHROPIC_VERSION", "models.anthropic_version", lambda raw: raw.strip() or "2023-06-01"),
    ("ANTHROPIC_BETA", "models.anthropic_beta", _parse_text),
    ("ANTHROPIC_BETA_HEADER", "models.anthropic_beta", _parse_text),
    ("MODEL_LIST_CACHE_TTL_SECONDS", "models.cache_ttl_s", _parse_non_negative_float),
    ("MODEL_LIST_ERROR_TTL_SECONDS", "models.error_ttl_s", _parse_non_negative_float),
    ("MODEL_LIST_REQUEST_TIMEOUT_SECONDS", "models.request_timeout_s", _parse_positive_float),
    ("REQUEST_CACHE_ENABLED", "cache.enabled", _parse_bool),
    ("REQUEST_CACHE_TTL_SECONDS", "cache.ttl_s", _parse_positive_float),
    ("REQUEST_CACHE_MAX_SIZE", "cache.max_size", _parse_positive_int),
    ("VERBOSE", "verbose", _parse_bool),
    ("DEEP_HEALTH_CACHE_SECONDS", "deep_health_cache_s", _parse_non_negative_float),
    ("UPSTREAM_RETRIES", "retry.retries", _parse_non_negative_int),
    ("UPSTREAM_RETRY_BASE_SECONDS", "retry.base_s", _parse_positive_float),
    ("UPSTREAM_RETRY_MAX_SECONDS", "retry.max_s", _parse_positive_float),
    ("FALLBACK_MODEL", "retry.fallback_model", _parse_text),
    ("FALLBACK_AFTER_OVERLOADS", "retry.fallback_after_overloads", _parse_positive_int),
    ("WRAPPER_CIRCUIT_BREAKER_ENABLED", "breaker.enabled", _parse_bool),
    ("WRAPPER_CIRCUIT_BREAKER_WINDOW_SECONDS", "breaker.window_s", _parse_positive_float),
    ("WRAPPER_CIRCUIT_BREAKER_THRESHOLD", "breaker.threshold", _parse_ratio),
    ("WRAPPER_CIRCUIT_BREAKER_MIN_REQUESTS", "breaker.min_requests", _parse_positive_int),
    ("WRAPPER_CIRCUIT_BREAKER_OPEN_SECONDS", "breaker.open_s", _parse_positive_float),
    ("MAX_TURN_CPU_SECONDS", "max_turn_cpu_s", _parse_non_negative_float),
    ("CLI_ENV_PASSTHROUGH", "cli_env_passthrough", _parse_csv),
)

# Variables read by the server that are not Settings fields: they are passed to the
# Claude CLI (auth) or read by hypercorn. Listed so .env.example stays complete.
PASSTHROUGH_VARIABLES: tuple[str, ...] = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "ANTHROPIC_VERTEX_PROJECT_ID",
    "CLOUD_ML_REGION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    # A `claude setup-token` login, and where `claude auth login` keeps one.
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CONFIG_DIR",
)

_GROUPS = (
    "pool",
    "queue",
    "sessions",
    "rate_limits",
    "models",
    "cache",
    "retry",
    "breaker",
    "upstream",
    "keys",
)


def documented_variables() -> tuple[str, ...]:
    """Every environment variable this server reads, in documentation order."""
    return tuple(dict.fromkeys(name for name, _, _ in _SPEC)) + PASSTHROUGH_VARIABLES


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; the process environment when ``environ`` is None.

    Raises:
        ConfigError: a variable holds an unusable value; the message names it.
    """
    env = dict(os.environ if environ is None else environ)
    top: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {name: {} for name in _GROUPS}
    for name, field, parse in _SPEC:
        raw = env.get(name)
        if raw is None:
            continue
        try:
            value = parse(raw)
        except (ValueError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{name}={raw!r} is not valid: {exc}") from None
        group, _, key = field.rpartition(".")
        (groups[group] if group else top)[key] = value
    retry = groups["retry"]
    if "max_s" in retry or "base_s" in retry:
        defaults = RetrySettings()
        base = retry.get("base_s", defaults.base_s)
        retry["max_s"] = max(retry.get("max_s", defaults.max_s), base)
    return Settings(
        **top,
        pool=PoolSettings(**groups["pool"]),
        queue=QueueSettings(**groups["queue"]),
        sessions=SessionSettings(**groups["sessions"]),
        rate_limits=RateLimitSettings(**groups["rate_limits"]),
        models=ModelSettings(**groups["models"]),
        cache=CacheSettings(**groups["cache"]),
        retry=RetrySettings(**groups["retry"]),
        breaker=BreakerSettings(**groups["breaker"]),
        upstream=UpstreamSettings(**groups["upstream"]),
        keys=KeySettings(**groups["keys"]),
        environ=env,
    )
