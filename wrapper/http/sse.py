"""Server-sent events framing: pure functions from data to bytes.

The encoder knows nothing of any dialect. Data is split on every kind of line
break so a newline inside a payload can never end a frame early; each line
becomes its own ``data:`` field, which SSE readers join back with ``\\n``.
"""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

PING_FRAME = b": ping\n\n"

# Every SSE response carries these; ``x-accel-buffering`` stops nginx from holding frames back.
SSE_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
)


def encode_event(data: str, event: str | None = None) -> bytes:
    """One SSE frame carrying ``data`` (and an optional ``event:`` name)."""
    parts: list[str] = []
    if event is not None:
        if _LINE_BREAK.search(event):
            raise ValueError("an SSE event name cannot contain a line break")
        parts.append(f"event: {event}\n")
    for line in _LINE_BREAK.split(data):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8")


def encode_comment(text: str) -> bytes:
    """An SSE comment frame (ignored by readers; keeps idle connections open)."""
    return "".join(f": {line}\n" for line in _LINE_BREAK.split(text)).encode("utf-8") + b"\n"
