"""The start-up banner ``claude-wrapper`` prints on a terminal: where to go and how it runs.

A few lines: the URL (landing page, API reference, the bases for the OpenAI and
Anthropic clients), how the CLI authenticates upstream, whether ``API_KEY`` is
set, where data lives and how the log is written. Never a secret: variable names
and a session store's host only, never its password.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from wrapper.config import Settings
from wrapper.upstream.auth import UpstreamAuth

_AUTH = {
    "api_key": "Anthropic API key",
    "cli": "Claude Code login",
    "bedrock": "Amazon Bedrock",
    "vertex": "Google Vertex AI",
}
_EVERY_INTERFACE = {"0.0.0.0", "::", ""}  # noqa: S104 - names the bind, does not bind


def public_url(host: str, port: int, *, tls: bool) -> str:
    """The URL a person on this machine opens for a server bound to ``host:port``."""
    shown = "127.0.0.1" if host in _EVERY_INTERFACE else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def describe_session_store(url: str | None, data_dir: Path) -> str:
    """The session store, without credentials."""
    if url is None:
        return f"SQLite in {data_dir}"
    parts = urlsplit(url)
    if parts.scheme in {"redis", "rediss"}:
        return f"Redis at {parts.hostname or 'localhost'}:{parts.port or 6379}"
    if parts.scheme == "memory":
        return "in memory (lost at exit)"
    return f"{parts.scheme} store"


class Banner:
    """Renders the banner; ``colors`` for a terminal that shows them."""

    def __init__(self, colors: bool) -> None:
        self.colors = colors

    def _style(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colors else text

    def render(
        self,
        settings: Settings,
        *,
        version: str,
        url: str,
        auth: UpstreamAuth,
        key_generated: bool = False,
    ) -> str:
        data_dir = Path(settings.data_dir).expanduser().resolve()
        auth_line = f"{_AUTH.get(auth.method, auth.method)} ({auth.method}"
        auth_line += ", from CLAUDE_AUTH_METHOD)" if auth.source != "auto" else ", detected)"
        if auth.problems:
            auth_line += "  " + self._style("33", " ".join(auth.problems))
        if settings.keyless:
            key_line = self._style("33", "not set: anyone who can reach the port can use it")
        elif settings.api_key is None:
            key_line = self._style("32", "named client keys (API_KEYS): each sees its own")
        elif key_generated:
            key_line = self._style("32", "set (generated for this run)")
        else:
            key_line = self._style("32", "set: clients send it as a Bearer token or x-api-key")
        listening = ""
        if settings.bind_host in _EVERY_INTERFACE:
            listening = self._style("2", f"  (listening on every interface, port {settings.port})")
        rows = [
            ("Landing page", self._style("1;4", f"{url}/") + listening),
            ("API reference", f"{url}/docs  ·  {url}/openapi.json"),
            ("OpenAI base", f"{url}/v1"),
            ("Anthropic base", url),
            ("Upstream auth", auth_line),
            ("API_KEY", key_line),
            ("Data", str(data_dir)),
            ("Sessions", describe_session_store(settings.sessions.store_url, data_dir)),
            ("Log", "readable lines (LOG_FORMAT=json for JSON lines)"),
        ]
        width = max(len(label) for label, _ in rows)
        title = self._style("1", f"claude-wrapper {version}")
        lines = ["", f"  {title}", ""]
        lines += [f"  {self._style('2', label.ljust(width))}  {value}" for label, value in rows]
        return "\n".join([*lines, "", ""])
