"""Offering an API key when the server is started by hand without ``API_KEY``.

Only the ``claude-wrapper`` console script asks, and only when both its
standard input and output are a terminal; any other start (hypercorn directly,
a container, a service manager, CI) never waits for an answer and the app logs
one ``app.api_open`` warning instead. The key is shown once and lives only as
long as the process.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TextIO

_QUESTION = (
    "API_KEY is not set: anyone who can reach this server can use it.\n"
    "Generate an API key for this run? [y/N] "
)


def generate_api_key() -> str:
    """A random key: 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


def offer_api_key(
    stdin: TextIO,
    stdout: TextIO,
    *,
    port: int,
    generate: Callable[[], str] = generate_api_key,
) -> str | None:
    """Ask once; the generated key if the answer is yes, else ``None``."""
    stdout.write(_QUESTION)
    stdout.flush()
    try:
        answer = stdin.readline()
    except (EOFError, KeyboardInterrupt):
        answer = ""
    if answer.strip().lower() not in {"y", "yes"}:
        stdout.write("No API key: the API is open.\n")
        return None
    key = generate()
    stdout.write(
        "\nAPI key for this run (shown once, not stored):\n\n"
        f"    {key}\n\n"
        "Send it as `Authorization: Bearer <key>` or `x-api-key: <key>`, e.g.\n"
        f"    curl -H 'Authorization: Bearer {key}' http://localhost:{port}/v1/models\n\n"
    )
    stdout.flush()
    return key
