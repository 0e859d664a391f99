"""The fate of every OpenAI Chat Completions request field, in one table.

``POST /v1/compatibility`` reports it for a given request; docs/compatibility.md
holds the same table, and a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

Fate = Literal["honoured", "mapped", "approximated", "ignored", "rejected"]


class FieldFate(msgspec.Struct, frozen=True):
    fate: Fate
    detail: str


FIELDS: dict[str, FieldFate] = {
    "messages": FieldFate(
        "honoured",
        "system and developer messages become the system prompt; user, assistant, tool and "
        "function messages reach the model as real alternating turns with tool_use/tool_result "
        "blocks; images and PDFs as image/document blocks",
    ),
    "model": FieldFate("honoured", "passed to Claude Code and echoed in the response"),
    "stream": FieldFate("honoured", "token-level SSE from Claude's own stream"),
    "stream_options": FieldFate(
        "honoured", "include_usage adds the final usage chunk; include_obfuscation is ignored"
    ),
    "max_tokens": FieldFate("honoured", "Claude's output limit; finish_reason length when hit"),
    "max_completion_tokens": FieldFate(
        "honoured", "Claude's output limit (the smaller of this and max_tokens)"
    ),
    "n": FieldFate("honoured", "1-8 completions run concurrently, one turn each"),
    "stop": FieldFate(
        "honoured",
        "applied by this server: output ends before the first stop sequence (finish_reason "
        "stop); the turn still runs to its end upstream so usage stays exact",
    ),
    "tools": FieldFate(
        "honoured",
        "function tools become real tools with their names and JSON schemas unchanged; calls "
        "come back as tool_calls; custom (free-form) tools are rejected",
    ),
    "tool_choice": FieldFate(
        "approximated",
        "a named function is the only tool offered; with required or a named function the "
        "model is told to call one, and a reply that ends without a call is sent back once; "
        "none withholds the tools (or, when earlier turns used them, tells the model not to "
        "call one and answers any call with an error); allowed_tools restricts the tools "
        "offered",
    ),
    "parallel_tool_calls": FieldFate(
        "approximated",
        "false: the model is told to call at most one tool and any further call is dropped",
    ),
    "functions": FieldFate("mapped", "legacy functions are tools; the reply uses function_call"),
    "function_call": FieldFate("mapped", "legacy form of tool_choice"),
    "response_format": FieldFate(
        "honoured",
        "json_schema uses Claude Code's native structured output (the content is the JSON, "
        "valid against the schema, or a 502 structured_output_failed); json_object is a "
        "structured output with an object schema",
    ),
    "reasoning_effort": FieldFate(
        "mapped",
        "Claude's effort level (minimal and low -> low, none/minimal also turn thinking off); "
        "thinking comes back as reasoning_content",
    ),
    "logprobs": FieldFate("rejected", "Claude does not return token log probabilities (400)"),
    "top_logprobs": FieldFate("rejected", "Claude does not return token log probabilities (400)"),
    "modalities": FieldFate("rejected", "only text output; any other modality is a 400"),
    "audio": FieldFate("rejected", "no audio output (400)"),
    "temperature": FieldFate(
        "ignored", "Claude Code does not expose sampling settings; accepted and not applied"
    ),
    "top_p": FieldFate("ignored", "Claude Code does not expose sampling settings"),
    "presence_penalty": FieldFate("ignored", "no Claude equivalent"),
    "frequency_penalty": FieldFate("ignored", "no Claude equivalent"),
    "logit_bias": FieldFate("ignored", "no Claude equivalent"),
    "seed": FieldFate("ignored", "Claude has no deterministic sampling seed"),
    "user": FieldFate("ignored", "accepted; not forwarded"),
    "safety_identifier": FieldFate("ignored", "accepted; not forwarded"),
    "metadata": FieldFate("ignored", "accepted; not stored (chat completions are not stored)"),
    "store": FieldFate("ignored", "chat completions are never stored by this server"),
    "service_tier": FieldFate("ignored", "Claude Code picks the tier; the response says null"),
    "prediction": FieldFate("ignored", "predicted outputs have no Claude equivalent"),
    "web_search_options": FieldFate("ignored", "web search is not offered to the model"),
    "verbosity": FieldFate("ignored", "no Claude equivalent"),
    "prompt_cache_key": FieldFate(
        "ignored", "Claude prompt caching is automatic (reported in cached_tokens)"
    ),
    "prompt_cache_options": FieldFate("ignored", "Claude prompt caching is automatic"),
    "prompt_cache_retention": FieldFate("ignored", "Claude prompt caching is automatic"),
    "moderation": FieldFate("ignored", "no moderation pass is run"),
    "session_id": FieldFate(
        "honoured", "extension: continue a server-side session (also the X-Session-Id header)"
    ),
    "enable_tools": FieldFate(
        "honoured",
        "extension: Claude Code's own tools (GET /v1/tools) in a private workspace; refused "
        "unless the operator sets ENABLE_SERVER_TOOLS=true",
    ),
    "mcp_servers": FieldFate(
        "honoured", "extension: names of registered MCP servers to connect (needs enable_tools)"
    ),
}

HEADERS: dict[str, FieldFate] = {
    "x-claude-effort": FieldFate("honoured", "low, medium, high, xhigh or max"),
    "x-claude-thinking": FieldFate("honoured", "adaptive, enabled or disabled"),
    "x-claude-max-thinking-tokens": FieldFate(
        "honoured", "thinking budget (models with adaptive thinking treat it as on/off)"
    ),
    "x-claude-max-turns": FieldFate("honoured", "step limit when enable_tools is on"),
    "x-claude-allowed-tools": FieldFate(
        "honoured", "Claude Code tools offered when enable_tools is on (comma-separated)"
    ),
    "x-claude-disallowed-tools": FieldFate(
        "honoured", "Claude Code tools withheld when enable_tools is on (comma-separated)"
    ),
    "x-claude-permission-mode": FieldFate(
        "honoured", "default, acceptEdits, bypassPermissions or plan (with enable_tools)"
    ),
    "x-session-id": FieldFate("honoured", "same as the session_id field"),
}


class FieldReport(msgspec.Struct):
    field: str
    status: str
    detail: str


class CompatibilityReport(msgspec.Struct):
    supported_parameters: list[str]
    unsupported_parameters: list[str]
    warnings: list[str]
    suggestions: list[str]


class Compatibility(msgspec.Struct):
    compatibility_report: CompatibilityReport
    fields: list[FieldReport]
    headers: list[FieldReport]
    accepted: bool = True
    error: str | None = None
    object: str = "compatibility_report"


def report(body: Mapping[str, Any], headers: Mapping[str, str]) -> Compatibility:
    """What this server does with each field of ``body`` (a decoded request object)."""
    fields: list[FieldReport] = []
    warnings: list[str] = []
    supported: list[str] = []
    unsupported: list[str] = []
    for name in body:
        fate = FIELDS.get(name)
        if fate is None:
            fields.append(FieldReport(name, "unknown", "not an OpenAI field; ignored"))
            warnings.append(f"{name}: not an OpenAI Chat Completions field; ignored")
            unsupported.append(name)
            continue
        fields.append(FieldReport(name, fate.fate, fate.detail))
        if fate.fate in ("honoured", "mapped", "approximated"):
            supported.append(name)
        else:
            unsupported.append(name)
            if fate.fate == "rejected":
                warnings.append(f"{name}: this request would be rejected ({fate.detail})")
    header_reports = [
        FieldReport(name, fate.fate, fate.detail)
        for name, fate in HEADERS.items()
        if name in headers
    ]
    suggestions = []
    if any(name in body for name in ("temperature", "top_p")):
        suggestions.append(
            "Sampling settings are not applied; use reasoning_effort to steer depth."
        )
    return Compatibility(
        compatibility_report=CompatibilityReport(
            supported_parameters=supported,
            unsupported_parameters=unsupported,
            warnings=warnings,
            suggestions=suggestions,
        ),
        fields=fields,
        headers=header_reports,
    )
