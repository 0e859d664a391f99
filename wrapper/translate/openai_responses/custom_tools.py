"""Responses API ``custom`` (freeform) tools on Claude, which only has JSON tools.

A custom tool takes one string of free text (optionally in a Lark or regex
grammar). Claude is offered it as a client tool whose input is an object with
one string field, ``input``; the tool's format is described in its description
so the model knows the expected form. No grammar is enforced: Claude has no
constrained decoding for it. The model's call comes back as a
``custom_tool_call`` item whose ``input`` is that string, streamed as it arrives
(:class:`InputStream` decodes the string out of the tool call's partial JSON).
"""

from __future__ import annotations

import json
from typing import Any

from wrapper.errors import InvalidRequestError
from wrapper.events import ToolSpec

INPUT_FIELD = "input"

_JSON_STRING = json.JSONDecoder()


def input_schema(format_: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON schema Claude is offered: ``{"input": <string>}``."""
    return {
        "type": "object",
        "properties": {INPUT_FIELD: {"type": "string", "description": _format_text(format_)}},
        "required": [INPUT_FIELD],
        "additionalProperties": False,
    }


def _format_text(format_: dict[str, Any] | None) -> str:
    if not format_ or format_.get("type") == "text":
        return "The tool's input as free text."
    syntax = format_.get("syntax")
    definition = format_.get("definition")
    kind = "a regular expression" if syntax == "regex" else "a Lark grammar"
    return (
        f"The tool's input as free text that must match {kind} (not enforced by the "
        f"server, so follow it exactly):\n{definition}"
    )


def custom_spec(
    name: str | None, description: str | None, format_: dict[str, Any] | None, param: str
) -> ToolSpec:
    """The client tool that stands for a ``custom`` tool.

    Raises:
        InvalidRequestError: the tool lacks a name or its format is malformed.
    """
    if not name:
        raise InvalidRequestError("A custom tool needs a name.", param=f"{param}.name")
    if format_ is not None:
        kind = format_.get("type")
        if kind == "grammar":
            if format_.get("syntax") not in ("lark", "regex") or not isinstance(
                format_.get("definition"), str
            ):
                raise InvalidRequestError(
                    "A grammar format needs syntax 'lark' or 'regex' and a definition string.",
                    param=f"{param}.format",
                )
        elif kind != "text":
            raise InvalidRequestError(
                "A custom tool's format is {type: text} or {type: grammar, syntax, definition}.",
                param=f"{param}.format.type",
            )
    # One paragraph: Claude Code keeps only the first paragraph of a client tool's description.
    how = f'Pass the whole input as the string field "{INPUT_FIELD}". {_format_text(format_)}'
    text = f"{description}\n{how}" if description else how
    return ToolSpec(name=name, description=text, input_schema=input_schema(format_))


def call_input(arguments: str) -> str:
    """The custom tool input in the model's JSON ``arguments`` (the raw text if not ours)."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return arguments
    if isinstance(value, dict):
        found = value.get(INPUT_FIELD)
        if isinstance(found, str):
            return found
        if not value:
            return ""
    return arguments


class InputStream:
    """Decodes the ``input`` string out of a tool call's JSON as it streams in."""

    def __init__(self) -> None:
        self.raw = ""
        self.sent = ""

    def feed(self, chunk: str) -> str:
        """The newly decoded part of the input after ``chunk`` (may be empty)."""
        self.raw += chunk
        decoded = _prefix(self.raw)
        if decoded is None or not decoded.startswith(self.sent):
            return ""
        new, self.sent = decoded[len(self.sent) :], decoded
        return new

    def finish(self) -> tuple[str, str]:
        """The last part not yet sent (when it extends what was) and the whole input."""
        whole = call_input(self.raw)
        rest = whole[len(self.sent) :] if whole.startswith(self.sent) else ""
        self.sent = whole
        return rest, whole


def _prefix(raw: str) -> str | None:
    """The decoded prefix of the string value of ``{"input": "...`` in ``raw``, if it is one."""
    start = raw.lstrip()
    if not start.startswith("{"):
        return None
    rest = start[1:].lstrip()
    key = f'"{INPUT_FIELD}"'
    if not rest.startswith(key):
        return None
    rest = rest[len(key) :].lstrip()
    if not rest.startswith(":"):
        return None
    rest = rest[1:].lstrip()
    if not rest.startswith('"'):
        return None
    body = rest[1:]
    try:
        value, _ = _JSON_STRING.raw_decode(rest)
    except json.JSONDecodeError:
        try:
            value, _ = _JSON_STRING.raw_decode(f'"{_complete_escapes(body)}"')
        except json.JSONDecodeError:
            return None
    if not isinstance(value, str):
        return None
    # A high surrogate alone may be the first half of a pair still to come.
    return value[:-1] if value and "\ud800" <= value[-1] <= "\udbff" else value


def _complete_escapes(body: str) -> str:
    """``body`` without a trailing escape sequence that is not complete yet."""
    cut = body.rfind("\\")
    if cut == -1:
        return body
    slashes = len(body[: cut + 1]) - len(body[: cut + 1].rstrip("\\"))
    if slashes % 2 == 0:
        return body
    tail = body[cut + 1 :]
    if tail.startswith("u") and len(tail) < 5:
        return body[:cut]
    return body[:cut] if not tail else body
