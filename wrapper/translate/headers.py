"""The ``X-Claude-*`` request headers of the existing wrapper, parsed and validated.

Unlike there, every header works: ``X-Claude-Thinking`` builds a real thinking
configuration, ``X-Claude-Max-Thinking-Tokens`` sets its budget, and a bad value
is a 400 naming the header instead of being ignored. The agent headers
(``X-Claude-Allowed-Tools``, ``X-Claude-Disallowed-Tools``,
``X-Claude-Permission-Mode``) are checked against Claude Code's real tool list
and modes, and reach the CLI whenever the request enables Claude Code's tools.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from wrapper.agent.catalogue import permission_mode, tool_names
from wrapper.errors import InvalidRequestError
from wrapper.events import AgentSettings, Effort, ThinkingConfig

_EFFORTS: frozenset[str] = frozenset({"low", "medium", "high", "xhigh", "max"})
_THINKING: frozenset[str] = frozenset({"adaptive", "enabled", "disabled"})


def _positive_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidRequestError(f"{name} must be a positive integer.", param=name)
    return value


class ClaudeHeaders(msgspec.Struct, frozen=True):
    effort: Effort | None = None
    thinking: ThinkingConfig | None = None
    max_turns: int | None = None
    allowed_tools: tuple[str, ...] | None = None
    disallowed_tools: tuple[str, ...] | None = None
    permission_mode: str | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> ClaudeHeaders:
        """Read the headers (lower-cased names).

        Raises:
            InvalidRequestError: a header holds an unusable value.
        """
        effort_raw = headers.get("x-claude-effort", "").strip().lower()
        if effort_raw and effort_raw not in _EFFORTS:
            raise InvalidRequestError(
                f"x-claude-effort must be one of {', '.join(sorted(_EFFORTS))}.",
                param="x-claude-effort",
            )
        thinking_raw = headers.get("x-claude-thinking", "").strip().lower()
        if thinking_raw and thinking_raw not in _THINKING:
            raise InvalidRequestError(
                "x-claude-thinking must be adaptive, enabled or disabled.",
                param="x-claude-thinking",
            )
        budget = _positive_int(headers, "x-claude-max-thinking-tokens")
        thinking: ThinkingConfig | None = None
        if thinking_raw == "disabled":
            thinking = ThinkingConfig(mode="disabled")
        elif thinking_raw == "enabled" or (budget is not None and thinking_raw != "adaptive"):
            thinking = ThinkingConfig(mode="enabled", budget_tokens=budget or 8000)
        elif thinking_raw == "adaptive":
            thinking = ThinkingConfig(mode="adaptive")
        return cls(
            effort=effort_raw or None,  # type: ignore[arg-type]
            thinking=thinking,
            max_turns=_positive_int(headers, "x-claude-max-turns"),
            allowed_tools=tool_names(
                headers.get("x-claude-allowed-tools"), "x-claude-allowed-tools"
            ),
            disallowed_tools=tool_names(
                headers.get("x-claude-disallowed-tools"), "x-claude-disallowed-tools"
            ),
            permission_mode=permission_mode(
                headers.get("x-claude-permission-mode"), "x-claude-permission-mode"
            ),
        )

    def agent(self) -> AgentSettings:
        """The request's own agent settings (what the tools config may fill in)."""
        return AgentSettings(
            allowed_tools=self.allowed_tools,
            disallowed_tools=self.disallowed_tools or (),
            permission_mode=self.permission_mode,
        )
