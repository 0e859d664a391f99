"""A digest of a conversation, equal across dialects for the same logical turns.

A warm process that answered a turn holds that conversation. A stateless client's
follow-up carries the same history plus the reply it received: when the
digest of the follow-up's earlier messages equals the digest of what the
process holds, the process can take just the new message.

The digest covers what the client sees and sends back: user content in full;
for assistant messages, their text joined (dialects split or join text blocks
differently) and their tool calls (id, name, canonical input). Thinking blocks
are left out: OpenAI clients never send them back, and the process holds its
own anyway. The process profile is part of the digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from wrapper.backend.content import block
from wrapper.events import Message, TextPart, ToolUsePart


def _canonical(message: Message) -> list[object]:
    if message.role == "user":
        return ["user", [block(part) for part in message.content]]
    text = "".join(part.text for part in message.content if isinstance(part, TextPart))
    calls = [
        [part.id, part.name, json.dumps(part.input, sort_keys=True, separators=(",", ":"))]
        for part in message.content
        if isinstance(part, ToolUsePart)
    ]
    return ["assistant", text, calls]


def _line(message: Message) -> bytes:
    return json.dumps(_canonical(message), sort_keys=True, ensure_ascii=False).encode() + b"\n"


def conversation_digest(profile_key: str, messages: Sequence[Message]) -> str:
    """The digest of ``messages`` as held by a process of profile ``profile_key``."""
    digest = hashlib.sha256(profile_key.encode())
    for message in messages:
        digest.update(_line(message))
    return digest.hexdigest()


def prefix_digests(profile_key: str, messages: Sequence[Message]) -> list[str]:
    """``conversation_digest`` of every prefix of ``messages``: item ``k`` is that of
    ``messages[:k]`` (``len(messages) + 1`` items, computed in one pass)."""
    digest = hashlib.sha256(profile_key.encode())
    found = [digest.hexdigest()]
    for message in messages:
        digest.update(_line(message))
        found.append(digest.hexdigest())
    return found
