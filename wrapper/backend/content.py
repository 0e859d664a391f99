"""Neutral content parts as Claude's content blocks (for transcripts and stdin messages)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wrapper.events import (
    DocumentPart,
    ImagePart,
    Part,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolUsePart,
)


def _image_block(part: ImagePart) -> dict[str, Any]:
    if part.data is not None:
        source: dict[str, Any] = {
            "type": "base64",
            "media_type": part.media_type or "image/png",
            "data": part.data,
        }
    else:
        source = {"type": "url", "url": part.url}
    return {"type": "image", "source": source}


def block(part: Part) -> dict[str, Any]:
    """One content part as a Claude content block."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        return _image_block(part)
    if isinstance(part, DocumentPart):
        document: dict[str, Any] = {"type": "document", "source": part.source}
        if part.title:
            document["title"] = part.title
        return document
    if isinstance(part, ToolUsePart):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": part.input}
    if isinstance(part, ToolResultPart):
        result: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": part.tool_use_id,
            "content": [block(item) for item in part.content],
        }
        if part.is_error:
            result["is_error"] = True
        return result
    if isinstance(part, ThinkingPart):
        return {"type": "thinking", "thinking": part.thinking, "signature": part.signature}
    if isinstance(part, RedactedThinkingPart):
        return {"type": "redacted_thinking", "data": part.data}
    raise TypeError(f"unknown content part {type(part).__name__}")


def blocks(parts: Iterable[Part]) -> list[dict[str, Any]]:
    """Content parts as a list of Claude content blocks."""
    return [block(part) for part in parts]
