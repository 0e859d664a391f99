"""Settings, read once from the environment and validated.

The variable names are the ones users of the existing wrapper already know
(``PORT``, ``API_KEY``, ``MAX_TIMEOUT``...). A bad value fails at startup with a
message that names the variable. ``.env.example`` documents every variable read
here; a test keeps the two in step.
"""

from __future__ import annotations

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
    # -- sessions (issue 6): fields below this line --
    # -- operations (issue 7): fields below this line --
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
    # -- sessions (issue 6): entries below this line --
    # -- operations (issue 7): entries below this line --
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
