"""Counting what the model reads: a client's chat request versus an upstream request.

Characters are counted on the content the model reads, in the same way on both
sides:

* client (OpenAI chat request): its system text, its message texts, tool-call
  arguments and the JSON of its tool definitions (``name``, ``description``,
  ``parameters``, compact);
* upstream (Anthropic Messages request): every ``system`` block's text, every
  message's text (including the CLI's own ``system``-role messages and
  reminders), tool-use inputs and tool results, and the compact JSON of every
  tool definition.

Tokens are approximate: characters / 4 (the fake upstream's ``count_tokens``
rule), always labelled as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from benchmarks.stats import approx_tokens


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def client_pieces(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, text) for the content of an OpenAI chat request."""
    pieces: list[tuple[str, str]] = []
    for index, message in enumerate(request.get("messages", [])):
        content = message.get("content")
        if isinstance(content, str):
            pieces.append((f"messages[{index}].{message['role']}", content))
        elif isinstance(content, list):
            for part in content:
                if part.get("type") == "text":
                    pieces.append((f"messages[{index}].{message['role']}", part["text"]))
        for call in message.get("tool_calls") or []:
            pieces.append((f"messages[{index}].tool_call", call["function"]["arguments"]))
    for index, tool in enumerate(request.get("tools") or []):
        function = tool["function"]
        definition = {
            "name": function["name"],
            "description": function.get("description", ""),
            "parameters": function.get("parameters", {}),
        }
        pieces.append((f"tools[{index}]", _compact(definition)))
    return pieces


def _block_text(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "tool_use":
        return _compact(block.get("input", {}))
    if kind == "thinking":
        return str(block.get("thinking", ""))
    if kind == "tool_result":
        inner = block.get("content")
        if isinstance(inner, str):
            return inner
        return "".join(_block_text(b) for b in inner or [] if isinstance(b, dict))
    return ""


def upstream_pieces(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, text) for the content of an upstream Messages API request."""
    pieces: list[tuple[str, str]] = []
    system = body.get("system")
    if isinstance(system, str):
        pieces.append(("system", system))
    elif isinstance(system, list):
        for index, block in enumerate(system):
            pieces.append((f"system[{index}]", _block_text(block)))
    for index, message in enumerate(body.get("messages", [])):
        content = message.get("content")
        where = f"messages[{index}].{message.get('role')}"
        if isinstance(content, str):
            pieces.append((where, content))
            continue
        for number, block in enumerate(content or []):
            pieces.append((f"{where}[{number}]", _block_text(block)))
    for index, tool in enumerate(body.get("tools") or []):
        pieces.append((f"tools[{index}]", _compact(tool)))
    return pieces


def added_pieces(
    upstream: list[tuple[str, str]], client: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Upstream pieces that are not the client's own text, with their size."""
    own = [text for _, text in client]
    added = []
    for where, text in upstream:
        if text in own:
            own.remove(text)
            continue
        inside = next((mine for mine in own if mine and mine in text), None)
        extra = len(text) - (len(inside) if inside else 0)
        if extra <= 0:
            continue
        added.append({"where": where, "chars": extra, "starts": text[:70].replace("\n", " ")})
    return added


@dataclass
class Measured:
    """One request: the client's and the upstream's character counts."""

    client_chars: int
    upstream_chars: int
    upstream_body_chars: int
    upstream_calls: int
    added: list[dict[str, Any]] = field(default_factory=list)

    @property
    def overhead_chars(self) -> int:
        return self.upstream_chars - self.client_chars

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_chars": self.client_chars,
            "upstream_chars": self.upstream_chars,
            "overhead_chars": self.overhead_chars,
            "client_tokens_approx": approx_tokens(self.client_chars),
            "upstream_tokens_approx": approx_tokens(self.upstream_chars),
            "overhead_tokens_approx": approx_tokens(self.upstream_chars)
            - approx_tokens(self.client_chars),
            "upstream_body_chars": self.upstream_body_chars,
            "upstream_calls": self.upstream_calls,
            "added": self.added,
        }


def measure(request: dict[str, Any], bodies: list[dict[str, Any]]) -> Measured:
    """Compare a client request with the upstream requests it caused (the last one
    carries the conversation; all are counted)."""
    client = client_pieces(request)
    upstream_chars = 0
    body_chars = 0
    for body in bodies:
        upstream_chars += sum(len(text) for _, text in upstream_pieces(body))
        body_chars += len(_compact(body))
    added = added_pieces(upstream_pieces(bodies[-1]), client) if bodies else []
    return Measured(
        client_chars=sum(len(text) for _, text in client),
        upstream_chars=upstream_chars,
        upstream_body_chars=body_chars,
        upstream_calls=len(bodies),
        added=added,
    )
