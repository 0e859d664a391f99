"""Regenerate ``openai_responses_schema.json``: the slice of OpenAI's OpenAPI document
that the Responses tests validate our output against.

Run by hand when the reference document changes (tests never read it)::

    python tests/unit/data/slice_openai_responses.py path/to/openai-openapi.json

The slice keeps the response object, the output items this server produces and
the stream events it sends, with every schema they reference. Unions whose
other members this server never produces are narrowed, and a few deep
branches it never fills (annotations, log probabilities, prompt templates,
input item lists) are replaced by ``{}`` to keep the file small.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOTS = (
    "Response",
    "ResponseCreatedEvent",
    "ResponseInProgressEvent",
    "ResponseCompletedEvent",
    "ResponseIncompleteEvent",
    "ResponseFailedEvent",
    "ResponseErrorEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseCustomToolCallInputDeltaEvent",
    "ResponseCustomToolCallInputDoneEvent",
    "ResponseReasoningSummaryPartAddedEvent",
    "ResponseReasoningSummaryPartDoneEvent",
    "ResponseReasoningSummaryTextDeltaEvent",
    "ResponseReasoningSummaryTextDoneEvent",
    "Error",
)

# Union schemas narrowed to the members this server produces.
NARROW = {
    "OutputItem": {"OutputMessage", "FunctionToolCall", "CustomToolCall", "ReasoningItem"},
    "Tool": {"FunctionTool", "CustomToolParam", "NamespaceToolParam"},
    "ToolChoiceParam": {
        "ToolChoiceOptions",
        "ToolChoiceAllowed",
        "ToolChoiceFunction",
        "ToolChoiceCustom",
    },
}

# Schemas this server never fills beyond an empty value: any JSON is accepted.
STUB = {
    "Annotation",
    "LogProb",
    "ResponseLogProb",
    "InputItem",
    "Prompt",
    "ResponseConversation",
    "Moderation",
    "PromptCacheOptions",
    "ToolCallCaller",
    "CallableToolAllowedCaller",
    "ModelIdsResponses",
}

DROP_KEYS = {"description", "example", "examples", "x-oaiMeta", "x-stainless-const", "title"}
REF = "#/components/schemas/"


def _clean(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items() if k not in DROP_KEYS}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def _narrow(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    keep = NARROW.get(name)
    if keep is None:
        return schema
    for key in ("oneOf", "anyOf"):
        if key in schema:
            schema[key] = [m for m in schema[key] if m.get("$ref", "")[len(REF) :] in keep]
    return schema


def _refs(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            found.append(ref[len(REF) :])
        for value in node.values():
            found += _refs(value)
    elif isinstance(node, list):
        for value in node:
            found += _refs(value)
    return found


def build(document: dict[str, Any]) -> dict[str, Any]:
    source = document["components"]["schemas"]
    out: dict[str, Any] = {}
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        if name in out:
            continue
        if name in STUB:
            out[name] = {}
            continue
        schema = _narrow(name, _clean(source[name]))
        out[name] = schema
        pending += _refs(schema)
    return {"components": {"schemas": dict(sorted(out.items()))}}


def main() -> None:
    document = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    target = Path(__file__).with_name("openai_responses_schema.json")
    target.write_text(json.dumps(build(document), indent=1, sort_keys=True) + "\n")
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
