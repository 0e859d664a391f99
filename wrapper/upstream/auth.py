"""How the Claude CLI authenticates upstream, decided once at startup.

``CLAUDE_AUTH_METHOD`` picks ``cli`` (the CLI's own login: ``claude auth login``
or a ``claude setup-token`` token in ``CLAUDE_CODE_OAUTH_TOKEN``), ``api_key``
(``ANTHROPIC_API_KEY``), ``bedrock`` or ``vertex``; the old names
``claude_cli`` and ``anthropic`` still work. Unset, the method is detected:
``CLAUDE_CODE_USE_BEDROCK``, then ``CLAUDE_CODE_USE_VERTEX``, then
``ANTHROPIC_API_KEY``, then the CLI login.

The result carries the environment overrides every CLI process gets (passed
per process through the SDK's ``env`` option; ``os.environ`` is never
changed): the chosen method's switches are set and the others' blanked, so a
stray variable cannot make the CLI authenticate another way than the one
reported. A stored CLI login lives in the CLI's config directory
(``CLAUDE_CONFIG_DIR`` or ``~/.claude``); :attr:`UpstreamAuth.login_config_dir`
names it so the CLI processes can be pointed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

AuthMethod = Literal["cli", "api_key", "bedrock", "vertex"]

_TRUTHY = frozenset({"1", "true", "yes", "on"})

# Variables worth naming in /v1/auth/status (names only, never values).
_VARIABLES: dict[str, tuple[str, ...]] = {
    "cli": ("CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CONFIG_DIR"),
    "api_key": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    "bedrock": (
        "CLAUDE_CODE_USE_BEDROCK",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_BEARER_TOKEN_BEDROCK",
    ),
    "vertex": (
        "CLAUDE_CODE_USE_VERTEX",
        "ANTHROPIC_VERTEX_PROJECT_ID",
        "CLOUD_ML_REGION",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ),
}


class UpstreamAuth(msgspec.Struct, frozen=True, kw_only=True):
    """The upstream auth method and what the CLI processes need for it."""

    method: AuthMethod
    source: Literal["CLAUDE_AUTH_METHOD", "auto"]
    cli_env: dict[str, str]
    problems: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    login_config_dir: str | None = None

    @property
    def configured(self) -> bool:
        """Whether the environment holds what the method needs (a CLI login is probed)."""
        return not self.problems


def _set(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, "").strip())


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in _TRUTHY


def detect_method(explicit: str | None, env: Mapping[str, str]) -> AuthMethod:
    """The method ``CLAUDE_AUTH_METHOD`` names (already normalised), or the detected one."""
    if explicit in ("cli", "api_key", "bedrock", "vertex"):
        return explicit  # type: ignore[return-value]
    if _flag(env, "CLAUDE_CODE_USE_BEDROCK"):
        return "bedrock"
    if _flag(env, "CLAUDE_CODE_USE_VERTEX"):
        return "vertex"
    if _set(env, "ANTHROPIC_API_KEY"):
        return "api_key"
    return "cli"


def _login_config_dir(env: Mapping[str, str]) -> str:
    configured = env.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        return str(Path(configured).expanduser())
    home = env.get("HOME", "").strip()
    return str((Path(home) if home else Path.home()) / ".claude")


def detect_upstream_auth(explicit: str | None, env: Mapping[str, str]) -> UpstreamAuth:
    """Decide the method and the CLI environment from ``CLAUDE_AUTH_METHOD`` and ``env``."""
    method = detect_method(explicit, env)
    source: Literal["CLAUDE_AUTH_METHOD", "auto"] = "CLAUDE_AUTH_METHOD" if explicit else "auto"
    cli_env: dict[str, str] = {
        "CLAUDE_CODE_USE_BEDROCK": "",
        "CLAUDE_CODE_USE_VERTEX": "",
        "ANTHROPIC_API_KEY": "",
    }
    problems: list[str] = []
    login_dir: str | None = None
    if method == "api_key":
        cli_env["ANTHROPIC_API_KEY"] = env.get("ANTHROPIC_API_KEY", "").strip()
        cli_env["CLAUDE_CODE_OAUTH_TOKEN"] = ""
        if not cli_env["ANTHROPIC_API_KEY"]:
            problems.append("ANTHROPIC_API_KEY is not set.")
    elif method == "bedrock":
        cli_env["CLAUDE_CODE_USE_BEDROCK"] = "1"
        if not (_set(env, "AWS_REGION") or _set(env, "AWS_DEFAULT_REGION")):
            problems.append("AWS_REGION (or AWS_DEFAULT_REGION) is not set.")
    elif method == "vertex":
        cli_env["CLAUDE_CODE_USE_VERTEX"] = "1"
        for name in ("ANTHROPIC_VERTEX_PROJECT_ID", "CLOUD_ML_REGION"):
            if not _set(env, name):
                problems.append(f"{name} is not set.")
    elif not _set(env, "CLAUDE_CODE_OAUTH_TOKEN"):
        login_dir = _login_config_dir(env)
    return UpstreamAuth(
        method=method,
        source=source,
        cli_env=cli_env,
        problems=tuple(problems),
        variables=tuple(name for name in _VARIABLES[method] if _set(env, name)),
        login_config_dir=login_dir,
    )
