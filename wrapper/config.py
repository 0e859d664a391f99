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


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of the server. Built by :func:`load_settings`."""

    port: int = 8000
    host: str = "0.0.0.0"  # noqa: S104 - the documented default bind of the existing wrapper
    max_timeout_ms: int = 600_000
    max_request_size: int = 10 * 1024 * 1024
    claude_cwd: str | None = None
    api_key: str | None = None
    default_model: str | None = None
    cors_origins: tuple[str, ...] = ("*",)
    models_override: tuple[str, ...] = ()
    data_dir: str = "data"
    log_format: str = "auto"
    log_level: str = "info"
    debug_mode: bool = False
    ping_interval_s: float = 10.0
    first_byte_deadline_s: float = 10.0
    shutdown_grace_s: float = 30.0
    enable_server_tools: bool = False
    load_filesystem_settings: bool = False
    # -- pool (issue 5): fields below this line --
    pool_enabled: bool = True
    pool_max_processes: int = 8
    pool_min_warm: int = 1
    pool_spares_per_profile: int = 1
    pool_idle_timeout_s: float = 600.0
    pool_affinity_ttl_s: float = 600.0
    pool_max_turns_per_process: int = 200
    pool_max_rss_mb: int = 450
    pool_tool_park_s: float = 300.0
    pool_reset: str = "clear"
    max_concurrent_turns: int | None = None
    max_queued_turns: int = 64
    queue_timeout_s: float = 30.0
    # -- sessions (issue 6): fields below this line --
    session_store_url: str | None = None
    session_ttl_s: int = 3600
    # -- operations (issue 7): fields below this line --
    rate_limit_enabled: bool = True
    rate_limit_per_minute: int = 30
    rate_limit_chat_per_minute: int = 10
    rate_limit_debug_per_minute: int = 2
    rate_limit_auth_per_minute: int = 10
    rate_limit_session_per_minute: int = 15
    rate_limit_health_per_minute: int = 30
    trusted_proxies: tuple[str, ...] = ()
    claude_auth_method: str | None = None
    cli_auth_probe_interval_s: float = 600.0
    anthropic_models_url: str | None = None
    anthropic_version: str = "2023-06-01"
    anthropic_beta: str | None = None
    model_list_cache_ttl_s: float = 3600.0
    model_list_error_ttl_s: float = 60.0
    model_list_request_timeout_s: float = 5.0
    request_cache_enabled: bool = False
    request_cache_ttl_s: float = 60.0
    request_cache_max_size: int = 100
    verbose: bool = False
    deep_health_cache_s: float = 30.0
    # resilience and shutdown (issue 7)
    upstream_retries: int = 2
    upstream_retry_base_s: float = 0.5
    upstream_retry_max_s: float = 8.0
    fallback_model: str | None = None
    fallback_after_overloads: int = 2
    circuit_breaker_enabled: bool = True
    circuit_breaker_window_s: float = 60.0
    circuit_breaker_threshold: float = 0.75
    circuit_breaker_min_requests: int = 20
    circuit_breaker_open_s: float = 30.0
    max_turn_cpu_s: float = 120.0
    # -- cost and isolation (issue 8): fields below this line --

    @property
    def max_timeout_s(self) -> float:
        """``MAX_TIMEOUT`` in seconds."""
        return self.max_timeout_ms / 1000.0


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


# -- operations (issue 7): parsers --
_AUTH_METHODS = {"cli": "cli", "claude_cli": "cli", "api_key": "api_key", "anthropic": "api_key"}
_AUTH_METHODS.update(bedrock="bedrock", vertex="vertex")


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


def _parse_auth_method(raw: str) -> str | None:
    value = raw.strip().lower()
    if not value:
        return None
    if value not in _AUTH_METHODS:
        raise ValueError("expected one of cli, api_key, bedrock, vertex")
    return _AUTH_METHODS[value]


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


# (environment variable, Settings field, parser)
_SPEC: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("PORT", "port", _parse_port),
    ("CLAUDE_WRAPPER_HOST", "host", lambda raw: raw.strip() or "0.0.0.0"),  # noqa: S104
    ("MAX_TIMEOUT", "max_timeout_ms", _parse_positive_int),
    ("MAX_REQUEST_SIZE", "max_request_size", _parse_positive_int),
    ("CLAUDE_CWD", "claude_cwd", _parse_directory),
    ("API_KEY", "api_key", _parse_text),
    ("DEFAULT_MODEL", "default_model", _parse_text),
    ("CORS_ORIGINS", "cors_origins", _parse_origins),
    ("CLAUDE_MODELS_OVERRIDE", "models_override", _parse_csv),
    ("DATA_DIR", "data_dir", lambda raw: raw.strip() or "data"),
    ("LOG_FORMAT", "log_format", _parse_choice("auto", "json", "console")),
    ("LOG_LEVEL", "log_level", _parse_choice("debug", "info", "warning", "error")),
    ("DEBUG_MODE", "debug_mode", _parse_bool),
    ("SSE_PING_INTERVAL_SECONDS", "ping_interval_s", _parse_positive_float),
    ("FIRST_BYTE_DEADLINE_SECONDS", "first_byte_deadline_s", _parse_positive_float),
    ("SHUTDOWN_GRACE_SECONDS", "shutdown_grace_s", _parse_positive_float),
    ("ENABLE_SERVER_TOOLS", "enable_server_tools", _parse_bool),
    ("LOAD_FILESYSTEM_SETTINGS", "load_filesystem_settings", _parse_bool),
    # -- pool (issue 5): entries below this line --
    ("POOL_ENABLED", "pool_enabled", _parse_bool),
    ("POOL_MAX_PROCESSES", "pool_max_processes", _parse_positive_int),
    ("POOL_MIN_WARM", "pool_min_warm", _parse_non_negative_int),
    ("POOL_SPARES_PER_PROFILE", "pool_spares_per_profile", _parse_non_negative_int),
    ("POOL_IDLE_TIMEOUT_SECONDS", "pool_idle_timeout_s", _parse_positive_float),
    ("POOL_AFFINITY_TTL_SECONDS", "pool_affinity_ttl_s", _parse_positive_float),
    ("POOL_MAX_TURNS_PER_PROCESS", "pool_max_turns_per_process", _parse_positive_int),
    ("POOL_MAX_RSS_MB", "pool_max_rss_mb", _parse_positive_int),
    ("POOL_TOOL_PARK_SECONDS", "pool_tool_park_s", _parse_positive_float),
    ("POOL_RESET", "pool_reset", _parse_choice("clear", "replace")),
    ("MAX_CONCURRENT_TURNS", "max_concurrent_turns", _parse_positive_int),
    ("MAX_QUEUED_TURNS", "max_queued_turns", _parse_non_negative_int),
    ("QUEUE_TIMEOUT_SECONDS", "queue_timeout_s", _parse_positive_float),
    # -- sessions (issue 6): entries below this line --
    ("SESSION_STORE_URL", "session_store_url", _parse_text),
    ("SESSION_TTL_SECONDS", "session_ttl_s", _parse_positive_int),
    # -- operations (issue 7): entries below this line --
    ("RATE_LIMIT_ENABLED", "rate_limit_enabled", _parse_bool),
    ("RATE_LIMIT_PER_MINUTE", "rate_limit_per_minute", _parse_non_negative_int),
    ("RATE_LIMIT_CHAT_PER_MINUTE", "rate_limit_chat_per_minute", _parse_non_negative_int),
    ("RATE_LIMIT_DEBUG_PER_MINUTE", "rate_limit_debug_per_minute", _parse_non_negative_int),
    ("RATE_LIMIT_AUTH_PER_MINUTE", "rate_limit_auth_per_minute", _parse_non_negative_int),
    ("RATE_LIMIT_SESSION_PER_MINUTE", "rate_limit_session_per_minute", _parse_non_negative_int),
    ("RATE_LIMIT_HEALTH_PER_MINUTE", "rate_limit_health_per_minute", _parse_non_negative_int),
    ("TRUSTED_PROXIES", "trusted_proxies", _parse_networks),
    ("CLAUDE_AUTH_METHOD", "claude_auth_method", _parse_auth_method),
    ("CLI_AUTH_PROBE_INTERVAL_SECONDS", "cli_auth_probe_interval_s", _parse_non_negative_float),
    ("ANTHROPIC_MODELS_URL", "anthropic_models_url", _parse_http_url),
    ("ANTHROPIC_VERSION", "anthropic_version", lambda raw: raw.strip() or "2023-06-01"),
    ("ANTHROPIC_BETA", "anthropic_beta", _parse_text),
    ("ANTHROPIC_BETA_HEADER", "anthropic_beta", _parse_text),
    ("MODEL_LIST_CACHE_TTL_SECONDS", "model_list_cache_ttl_s", _parse_non_negative_float),
    ("MODEL_LIST_ERROR_TTL_SECONDS", "model_list_error_ttl_s", _parse_non_negative_float),
    ("MODEL_LIST_REQUEST_TIMEOUT_SECONDS", "model_list_request_timeout_s", _parse_positive_float),
    ("REQUEST_CACHE_ENABLED", "request_cache_enabled", _parse_bool),
    ("REQUEST_CACHE_TTL_SECONDS", "request_cache_ttl_s", _parse_positive_float),
    ("REQUEST_CACHE_MAX_SIZE", "request_cache_max_size", _parse_positive_int),
    ("VERBOSE", "verbose", _parse_bool),
    ("DEEP_HEALTH_CACHE_SECONDS", "deep_health_cache_s", _parse_non_negative_float),
    ("UPSTREAM_RETRIES", "upstream_retries", _parse_non_negative_int),
    ("UPSTREAM_RETRY_BASE_SECONDS", "upstream_retry_base_s", _parse_positive_float),
    ("UPSTREAM_RETRY_MAX_SECONDS", "upstream_retry_max_s", _parse_positive_float),
    ("FALLBACK_MODEL", "fallback_model", _parse_text),
    ("FALLBACK_AFTER_OVERLOADS", "fallback_after_overloads", _parse_positive_int),
    ("WRAPPER_CIRCUIT_BREAKER_ENABLED", "circuit_breaker_enabled", _parse_bool),
    ("WRAPPER_CIRCUIT_BREAKER_WINDOW_SECONDS", "circuit_breaker_window_s", _parse_positive_float),
    ("WRAPPER_CIRCUIT_BREAKER_THRESHOLD", "circuit_breaker_threshold", _parse_ratio),
    ("WRAPPER_CIRCUIT_BREAKER_MIN_REQUESTS", "circuit_breaker_min_requests", _parse_positive_int),
    ("WRAPPER_CIRCUIT_BREAKER_OPEN_SECONDS", "circuit_breaker_open_s", _parse_positive_float),
    ("MAX_TURN_CPU_SECONDS", "max_turn_cpu_s", _parse_non_negative_float),
    # -- cost and isolation (issue 8): entries below this line --
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
    # operations (issue 7): a `claude setup-token` login, and where `claude auth login` keeps one
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CONFIG_DIR",
)


def documented_variables() -> tuple[str, ...]:
    """Every environment variable this server reads, in documentation order."""
    return tuple(name for name, _, _ in _SPEC) + PASSTHROUGH_VARIABLES


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings.

    Raises:
        ConfigError: a variable holds an unusable value; the message names it.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, field, parse in _SPEC:
        raw = env.get(name)
        if raw is None:
            continue
        try:
            values[field] = parse(raw)
        except (ValueError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{name}={raw!r} is not valid: {exc}") from None
    return Settings(**values)
