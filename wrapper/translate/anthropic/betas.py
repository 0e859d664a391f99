"""The fate of each ``anthropic-beta`` value.

The request body alone decides what happens; a beta header only says which beta
fields the client may send. A beta whose fields this server handles is honoured;
any other value is accepted and reported as ignored (the ``x-ignored-fields``
response header), never refused: Claude Code sends several on every request.
"""

from __future__ import annotations

from collections.abc import Mapping

IGNORED_HEADER = "x-ignored-fields"

# Betas whose request fields this server reads and acts on (docs/compatibility-anthropic.md).
HONOURED_BETAS = frozenset(
    {
        "advanced-tool-use-2025-11-20",  # defer_loading tools and tool_reference blocks
        "claude-code-20250219",  # no fields of its own: it marks Claude Code's requests
        "context-management-2025-06-27",  # context_management edits
        "effort-2025-11-24",  # output_config.effort
        "interleaved-thinking-2025-05-14",  # thinking between tool calls, as the CLI asks
        "mid-conversation-tool-changes-2026-07-01",  # tool_addition / tool_removal
        "per-turn-control-2026-07-01",  # system turns inside the conversation
        "structured-outputs-2025-11-13",  # output_format
    }
)


def ignored_betas(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The ``anthropic-beta`` values of a request that change nothing here."""
    raw = headers.get("anthropic-beta", "")
    values = (value.strip() for value in raw.split(","))
    return tuple(
        f"anthropic-beta:{value}" for value in values if value and value not in HONOURED_BETAS
    )


def ignored_header(
    ignored_fields: tuple[str, ...], headers: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The ``x-ignored-fields`` response header naming what had no effect, if anything did."""
    noted = (*ignored_fields, *ignored_betas(headers))
    return [(IGNORED_HEADER, ", ".join(noted))] if noted else []
