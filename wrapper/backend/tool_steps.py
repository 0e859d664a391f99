"""Claude Code's own tool runs, made visible to the client as reasoning text.

While Claude Code works through its tools (``enable_tools``), each call and each
result becomes a short thinking block of its own ("Bash: {...}", "Bash returned:
..."): every dialect already carries thinking (``reasoning_content`` in Chat
Completions, reasoning items in Responses, thinking blocks in Messages), so the
official clients accept it and show it apart from the answer. The blocks carry
no signature, so a client that sends them back cannot make Claude replay them
(they are dropped on the way in). Each block's :class:`~wrapper.events.BlockStart`
names its :class:`~wrapper.events.ToolStep`, which the observed layer counts.
"""

from __future__ import annotations

import json
from typing import Any

from wrapper.events import AgentEvent, BlockStart, BlockStop, ThinkingDelta, ToolStep

_MAX_SHOWN = 2000


def _shown(text: str) -> str:
    text = text.strip()
    if len(text) <= _MAX_SHOWN:
        return text
    return f"{text[:_MAX_SHOWN]}… ({len(text) - _MAX_SHOWN} more characters)"


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif isinstance(block, dict):
                parts.append(f"[{block.get('type', 'content')}]")
        return "\n".join(parts)
    return "" if content is None else str(content)


class ToolSteps:
    """The tool calls of one turn that Claude Code runs itself, by upstream block."""

    def __init__(self) -> None:
        self._open: dict[int, tuple[str, str, list[str]]] = {}
        self._names: dict[str, str] = {}

    def start(self, upstream: int, block: dict[str, Any]) -> None:
        """A ``tool_use`` block of a server tool began at ``upstream``."""
        self._open[upstream] = (str(block.get("id") or ""), str(block.get("name")), [])

    def owns(self, upstream: Any) -> bool:
        return upstream in self._open

    def input_delta(self, upstream: int, partial_json: str) -> None:
        self._open[upstream][2].append(partial_json)

    def stop(self, upstream: int, index: int) -> list[AgentEvent]:
        """The call is complete: a block showing it, numbered ``index``."""
        tool_id, name, parts = self._open.pop(upstream)
        self._names[tool_id] = name
        raw = "".join(parts)
        try:
            shown = json.dumps(json.loads(raw or "{}"), ensure_ascii=False)
        except ValueError:
            shown = raw
        step = ToolStep(name=name, tool_id=tool_id, outcome="call")
        return _block(index, step, f"{name}: {_shown(shown)}\n")

    def result(self, block: Any, index: int) -> list[AgentEvent] | None:
        """A tool result of the CLI's (``ToolResultBlock``), if it answers one of our calls."""
        tool_id = getattr(block, "tool_use_id", None)
        name = self._names.pop(tool_id, None) if isinstance(tool_id, str) else None
        if name is None:
            return None
        failed = bool(getattr(block, "is_error", False))
        step = ToolStep(name=name, tool_id=str(tool_id), outcome="error" if failed else "ok")
        verb = "failed" if failed else "returned"
        text = _shown(_result_text(getattr(block, "content", None))) or "(no output)"
        return _block(index, step, f"{name} {verb}: {text}\n")


def _block(index: int, step: ToolStep, text: str) -> list[AgentEvent]:
    return [
        BlockStart(index=index, type="thinking", step=step),
        ThinkingDelta(index=index, thinking=text),
        BlockStop(index=index),
    ]
