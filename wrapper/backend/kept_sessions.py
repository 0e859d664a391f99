"""Client sessions whose transcript the server writes itself, served by shared warm processes.

A session turn normally runs on a process started for that session: its CLI session
id and the mirror to the session store are fixed when it starts, so a new session,
or one whose process is gone, costs a spawn, and the process serves no one else.

A *kept* session instead runs on any warm process of its profile, like a stateless
conversation whose history the server holds: the first turn takes a clean process,
a later one the process that holds the session (or, when that one was reset for
another conversation, a clean one onto which the stored conversation is appended;
see ``CliProcess.seed``). The server writes each turn's messages into the session
store itself, in the CLI's transcript format, before the turn's end reaches the
client: the user's message(s) as sent, and the model's reply as produced (text,
thinking with its signature, tool calls), so any replica, or a cold CLI, resumes
it natively.

That is exact only where the process's conversation is nothing but those
messages, so a turn is kept only when the CLI runs no tools of its own (no agent
mode: its tool steps are the CLI's to record) and the client receives exactly what
the model produced (no stop sequences, structured output or ``tool_choice: none``).
Other turns go the mirrored way; a stored session is read back here only when
every entry is a plain message this module could have written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wrapper.backend.profile import Profile
from wrapper.backend.transcript import transcript_entries
from wrapper.backend.turns import ReplyRecorder
from wrapper.events import (
    AgentEvent,
    BlockStart,
    DocumentPart,
    ImagePart,
    Message,
    Part,
    RedactedThinkingPart,
    SignatureDelta,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolResultPart,
    ToolUsePart,
    Turn,
)


def kept(turn: Turn, profile: Profile) -> bool:
    """Whether ``turn`` of a client session is kept by the server (see the module docstring)."""
    return (
        not profile.server_tools
        and profile.cwd is None
        and not profile.disposable
        and not turn.stop_sequences
        and turn.output_schema is None
        and turn.tool_choice.mode != "none"
    )


class ModelReplyRecorder(ReplyRecorder):
    """Also records the reply as the model produced it, block by block, thinking included."""

    def __init__(self) -> None:
        super().__init__()
        self._kinds: dict[int, str] = {}
        self._pieces: dict[int, list[str]] = {}
        self._signatures: dict[int, str] = {}
        self._redacted: dict[int, str] = {}

    def add(self, event: AgentEvent) -> None:
        super().add(event)
        if isinstance(event, BlockStart):
            self._kinds[event.index] = event.type
            self._pieces[event.index] = []
            if event.type == "redacted_thinking":
                self._redacted[event.index] = event.data or ""
        elif isinstance(event, TextDelta | ThinkingDelta) and event.index in self._pieces:
            text = event.text if isinstance(event, TextDelta) else event.thinking
            self._pieces[event.index].append(text)
        elif isinstance(event, SignatureDelta):
            self._signatures[event.index] = self._signatures.get(event.index, "") + event.signature

    def model_message(self) -> Message:
        """The assistant message as the model produced it, its blocks in their order."""
        calls = iter(part for part in self.message().content if isinstance(part, ToolUsePart))
        parts: list[Part] = []
        for index in sorted(self._kinds):
            kind, text = self._kinds[index], "".join(self._pieces.get(index, ()))
            if kind == "text" and text:
                parts.append(TextPart(text=text))
            elif kind == "thinking":
                parts.append(ThinkingPart(thinking=text, signature=self._signatures.get(index, "")))
            elif kind == "redacted_thinking":
                parts.append(RedactedThinkingPart(data=self._redacted.get(index, "")))
            elif kind == "tool_use":
                # The base recorder parsed the calls' inputs, in the same index order.
                call = next(calls, None)
                if call is not None:
                    parts.append(call)
        return Message(role="assistant", content=tuple(parts))


def turn_entries(
    messages: Sequence[Message],
    reply: Message,
    *,
    parent: str | None,
    session_id: str,
    cwd: str,
    model: str,
) -> list[dict[str, Any]]:
    """The transcript entries one kept turn adds: its new messages, then the reply."""
    return transcript_entries(
        [*messages, reply], session_id=session_id, cwd=cwd, model=model, parent=parent
    )


def read_back(entries: Sequence[Any]) -> tuple[list[Message], str | None] | None:
    """The conversation a stored session holds, and the id of its last entry; None when
    an entry is anything but a plain message (the CLI's own records: it is resumed
    the mirrored way then)."""
    messages: list[Message] = []
    last: str | None = None
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") not in ("user", "assistant"):
            return None
        if entry.get("isMeta") or entry.get("isSidechain") or entry.get("parentUuid") != last:
            return None
        body = entry.get("message")
        if not isinstance(body, dict) or body.get("role") != entry["type"]:
            return None
        parts = _parts(body.get("content"))
        if parts is None:
            return None
        messages.append(Message(role=entry["type"], content=tuple(parts)))
        last = entry.get("uuid")
        if not isinstance(last, str):
            return None
    return messages, last


def _parts(content: Any) -> list[Part] | None:
    if isinstance(content, str):
        return [TextPart(text=content)]
    if not isinstance(content, list):
        return None
    parts: list[Part] = []
    for block in content:
        part = _part(block)
        if part is None:
            return None
        parts.append(part)
    return parts


def _part(block: Any) -> Part | None:
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return TextPart(text=block["text"])
    if kind == "image":
        source = block.get("source") or {}
        if source.get("type") == "base64":
            return ImagePart(media_type=source.get("media_type"), data=source.get("data"))
        if source.get("type") == "url":
            return ImagePart(url=source.get("url"))
        return None
    if kind == "document" and isinstance(block.get("source"), dict):
        return DocumentPart(source=block["source"], title=block.get("title"))
    if kind == "tool_use" and isinstance(block.get("input"), dict):
        return ToolUsePart(
            id=str(block.get("id")), name=str(block.get("name")), input=block["input"]
        )
    if kind == "tool_result":
        inner = _parts(block.get("content", []))
        if inner is None or not all(isinstance(p, TextPart | ImagePart) for p in inner):
            return None
        return ToolResultPart(
            tool_use_id=str(block.get("tool_use_id")),
            content=tuple(p for p in inner if isinstance(p, TextPart | ImagePart)),
            is_error=bool(block.get("is_error")),
        )
    if kind == "thinking":
        return ThinkingPart(
            thinking=str(block.get("thinking")), signature=str(block.get("signature"))
        )
    if kind == "redacted_thinking":
        return RedactedThinkingPart(data=str(block.get("data")))
    return None
