"""The state of one Responses output item while a turn's events build it."""

from __future__ import annotations

import json
import uuid
from typing import Literal

from wrapper.events import RedactedThinkingPart, ThinkingPart, ToolUsePart
from wrapper.translate.openai_responses.custom_tools import InputStream

ItemKind = Literal["message", "function_call", "custom_tool_call", "reasoning"]

KIND: dict[str, ItemKind] = {
    "text": "message",
    "tool_use": "function_call",
    "thinking": "reasoning",
    "redacted_thinking": "reasoning",
}
_ID_PREFIX: dict[ItemKind, str] = {
    "message": "msg",
    "function_call": "fc",
    "custom_tool_call": "ctc",
    "reasoning": "rs",
}


class Item:
    """One output item being built."""

    __slots__ = (
        "call_id",
        "chunks",
        "closed",
        "custom",
        "id",
        "kind",
        "name",
        "output_index",
        "redacted",
        "signature",
        "summary_open",
    )

    def __init__(self, kind: ItemKind, output_index: int) -> None:
        self.kind: ItemKind = kind
        self.id = f"{_ID_PREFIX[kind]}_{uuid.uuid4().hex}"
        self.output_index = output_index
        self.chunks: list[str] = []
        self.signature: list[str] = []
        self.call_id = ""
        self.name = ""
        self.redacted: str | None = None
        self.closed = False
        self.summary_open = False
        self.custom = InputStream()

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def block(self) -> ThinkingPart | RedactedThinkingPart | None:
        """The Claude thinking block of a reasoning item, if it can be replayed."""
        if self.redacted is not None:
            return RedactedThinkingPart(data=self.redacted)
        signature = "".join(self.signature)
        return ThinkingPart(thinking=self.text, signature=signature) if signature else None


def tool_use_of(item: Item) -> ToolUsePart | None:
    """A function call item as Claude's tool_use block, if its arguments are a JSON object."""
    try:
        arguments = json.loads(item.text) if item.text.strip() else {}
    except json.JSONDecodeError:
        return None
    if not isinstance(arguments, dict):
        return None
    return ToolUsePart(id=item.call_id, name=item.name, input=arguments)
