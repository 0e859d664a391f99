"""Anthropic Messages request -> Turn.

Every request field has a fate here (docs/compatibility-anthropic.md has the
table): mapped onto the Turn (``max_tokens``, ``system``, ``tools``,
``tool_choice``, ``thinking``, ``stop_sequences``, ``output_config``), validated
and ignored (sampling knobs and routing hints the CLI does not expose), or
rejected with a 400 naming the field (Anthropic's server tools, MCP servers,
containers and other features that need Anthropic's own servers).

Claude Code's own tools are never enabled on this route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from wrapper.errors import InvalidRequestError
from wrapper.events import (
    Effort,
    Message,
    Part,
    Role,
    TextPart,
    ThinkingConfig,
    ToolChoice,
    ToolSpec,
    Turn,
)
from wrapper.schemas import anthropic as an
from wrapper.schemas import anthropic_output as ao
from wrapper.translate.anthropic.content import block_tag, parts_of, referenced_tools
from wrapper.translate.anthropic.context_edits import apply_context_edits
from wrapper.translate.claude_tools import agent_settings, mcp_names
from wrapper.translate.conversation import check_conversation, check_tools, merge_roles
from wrapper.translate.headers import ClaudeHeaders
from wrapper.translate.limits import bounded_schema

MIN_THINKING_BUDGET = 1024

# Request fields that need Anthropic's own servers (beta features): 400 when present.
_SERVER_ONLY_FIELDS: tuple[tuple[str, str], ...] = (
    ("mcp_servers", "MCP servers are connected by Anthropic's API"),
    ("container", "containers belong to Anthropic's code execution tool"),
    ("compaction", "compaction runs on Anthropic's servers"),
    ("fallbacks", "model fallbacks are applied by Anthropic's API"),
    ("thread", "threads are kept by Anthropic's API"),
)

_CUSTOM_TOOL_TYPES = frozenset({None, "custom"})
# Anthropic's server tools that Claude Code's own tools stand in for.
_HOSTED_WEB_TOOLS = (("web_search_", "WebSearch"), ("web_fetch_", "WebFetch"))


def hosted_web_tool(tool_type: str | None) -> str | None:
    """The Claude Code tool that serves an Anthropic web server tool, if any."""
    for prefix, name in _HOSTED_WEB_TOOLS:
        if tool_type is not None and tool_type.startswith(prefix):
            return name
    return None


def _system_text(content: str | Sequence[an.SystemBlock]) -> str:
    if isinstance(content, str):
        return content
    return "\n\n".join(
        block.text for block in content if isinstance(block, an.TextBlock) and block.text
    )


def _reminder(text: str) -> TextPart:
    return TextPart(text=f"<system-reminder>\n{text}\n</system-reminder>")


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    """What a request's ``system`` and ``messages`` say, before the Turn is built."""

    system: str | None
    messages: list[Message]
    # Tool changes made by system turns, in order: ("add", definition) or ("remove", name).
    tool_changes: tuple[tuple[str, Any], ...] = ()
    # The effort the last system turn asked for (per-turn control).
    effort: Effort | None = None


def conversation(
    system: str | list[an.TextBlock] | None, messages: Sequence[an.InputMessage]
) -> Conversation:
    """The system prompt and the merged conversation of a request.

    System-role messages before the first user or assistant message extend
    ``system``. Later ones are system turns (Claude Code sends them): their text
    reaches the model inside the user turn at that point, marked as a
    ``<system-reminder>`` (Claude Code cannot start a system turn mid-conversation);
    one with ``clear_at: "next_user_message"`` is dropped once a user message follows
    it; their ``output_config.effort`` and tool additions and removals apply to this turn.

    Raises:
        InvalidRequestError: a block is unsupported or misplaced.
    """
    system_parts: list[str] = []
    if system is not None:
        text = _system_text(system)
        if text:
            system_parts.append(text)
    turns: list[tuple[Role, list[Part]]] = []
    changes: list[tuple[str, Any]] = []
    effort: Effort | None = None
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if isinstance(message, an.SystemMessage):
            changes.extend(_tool_changes(message.content, param))
            if message.output_config is not None and message.output_config.effort is not None:
                effort = message.output_config.effort
            text = _system_text(message.content)
            if not turns:
                if text:
                    system_parts.append(text)
                continue
            cleared = message.clear_at == "next_user_message" and any(
                isinstance(later, an.UserMessage) for later in messages[index + 1 :]
            )
            if not text or cleared:
                continue
            if turns[-1][0] == "user":
                turns[-1][1].append(_reminder(text))
            else:
                turns.append(("user", [_reminder(text)]))
            continue
        role: Role = "user" if isinstance(message, an.UserMessage) else "assistant"
        turns.append((role, parts_of(message.content, role, param)))
    return Conversation(
        system="\n\n".join(system_parts) or None,
        messages=merge_roles(turns),
        tool_changes=tuple(changes),
        effort=effort,
    )


def _tool_changes(content: str | Sequence[an.SystemBlock], param: str) -> list[tuple[str, Any]]:
    if isinstance(content, str):
        return []
    changes: list[tuple[str, Any]] = []
    for index, block in enumerate(content):
        where = f"{param}.content[{index}].tool"
        if isinstance(block, an.ToolAdditionBlock):
            definition = block.tool.get("definition", block.tool)
            try:
                changes.append(("add", msgspec.convert(definition, an.Tool)))
            except msgspec.ValidationError as exc:
                raise InvalidRequestError(f"Invalid tool definition: {exc}", param=where) from None
        elif isinstance(block, an.ToolRemovalBlock):
            name = block.tool.get("name")
            if not isinstance(name, str):
                raise InvalidRequestError("A tool_removal names its tool.", param=where)
            changes.append(("remove", name))
    return changes


def tools_in_play(
    tools: Sequence[an.Tool] | None, changes: Sequence[tuple[str, Any]], referenced: set[str]
) -> list[an.Tool]:
    """The tools the model is offered now: the request's, changed by system turns.

    A tool with ``defer_loading`` is offered only once a ``tool_reference`` in the
    conversation names it, as Anthropic's tool search does.
    """
    current = list(tools or ())
    for action, value in changes:
        name = value.name if action == "add" else value
        current = [tool for tool in current if tool.name != name]
        if action == "add":
            current.append(value)
    return [tool for tool in current if not tool.defer_loading or tool.name in referenced]


# --------------------------------------------------------------------------------------
# Tools and options


def tools_of(tools: Sequence[an.Tool] | None, *, hosted_web: bool = False) -> tuple[ToolSpec, ...]:
    """Custom tools as ToolSpecs; Anthropic-defined and server tools are refused.

    With ``hosted_web``, web search and fetch server tools are skipped (Claude
    Code's own WebSearch and WebFetch serve them, see :func:`hosted_web_tool`).

    Raises:
        InvalidRequestError: a tool is not a custom tool, lacks a schema, or has a bad name.
    """
    specs: list[ToolSpec] = []
    for index, tool in enumerate(tools or ()):
        param = f"tools[{index}]"
        if hosted_web and hosted_web_tool(tool.type) is not None:
            continue
        if tool.type not in _CUSTOM_TOOL_TYPES:
            raise InvalidRequestError(
                f"Tool type {tool.type!r} ({tool.name}) is an Anthropic-defined or server tool, "
                "which this server does not offer; define a custom tool with an input_schema.",
                param=f"{param}.type",
            )
        if tool.input_schema is None:
            raise InvalidRequestError(
                "A custom tool needs an input_schema.", param=f"{param}.input_schema"
            )
        specs.append(
            ToolSpec(
                name=tool.name,
                description=tool.description or "",
                input_schema=tool.input_schema,
            )
        )
    return check_tools(specs)


def tool_choice_of(
    choice: an.ToolChoice | None, tools: tuple[ToolSpec, ...]
) -> tuple[ToolChoice, bool]:
    """The Turn's tool choice and whether parallel tool calls stay allowed.

    Raises:
        InvalidRequestError: ``any``/``tool`` without tools, or an unknown tool name.
    """
    if choice is None:
        return ToolChoice(), True
    if isinstance(choice, an.ToolChoiceNone):
        return ToolChoice(mode="none"), True
    parallel = not choice.disable_parallel_tool_use
    if isinstance(choice, an.ToolChoiceAuto):
        return ToolChoice(), parallel
    if not tools:
        raise InvalidRequestError(
            f"tool_choice {block_tag(choice)!r} needs tools.", param="tool_choice.type"
        )
    if isinstance(choice, an.ToolChoiceAny):
        return ToolChoice(mode="required"), parallel
    if choice.name not in {tool.name for tool in tools}:
        raise InvalidRequestError(
            f"tool_choice names an unknown tool {choice.name!r}.", param="tool_choice.name"
        )
    return ToolChoice(mode="tool", name=choice.name), parallel


def thinking_of(thinking: an.Thinking | None, max_tokens: int | None) -> ThinkingConfig | None:
    """The Turn's thinking configuration.

    Raises:
        InvalidRequestError: a budget below 1024 or not below ``max_tokens``, or
            ``between_tools``.
    """
    if thinking is None:
        return None
    if isinstance(thinking, an.ThinkingDisabled):
        return ThinkingConfig(mode="disabled")
    if isinstance(thinking, an.ThinkingAdaptive):
        return ThinkingConfig(mode="adaptive")
    if isinstance(thinking, an.ThinkingBetweenTools):
        raise InvalidRequestError(
            "thinking type 'between_tools' is not supported; use 'adaptive' or 'enabled'.",
            param="thinking.type",
        )
    if thinking.budget_tokens < MIN_THINKING_BUDGET:
        raise InvalidRequestError(
            f"thinking.budget_tokens must be at least {MIN_THINKING_BUDGET}.",
            param="thinking.budget_tokens",
        )
    if max_tokens is not None and thinking.budget_tokens >= max_tokens:
        raise InvalidRequestError(
            "thinking.budget_tokens must be less than max_tokens.",
            param="thinking.budget_tokens",
        )
    return ThinkingConfig(mode="enabled", budget_tokens=thinking.budget_tokens)


def thinking_omitted(thinking: an.Thinking | None) -> bool:
    """Whether the client asked for ``display: "omitted"`` (signature only, no text)."""
    return (
        isinstance(thinking, an.ThinkingEnabled | an.ThinkingAdaptive)
        and thinking.display == "omitted"
    )


def output_schema_of(
    output_config: an.OutputConfig | None, output_format: an.JSONOutputFormat | None
) -> dict[str, Any] | None:
    """The JSON schema the reply must follow (structured outputs), if any.

    Raises:
        InvalidRequestError: both ``output_config.format`` and ``output_format`` are set.
    """
    configured = output_config.format if output_config is not None else None
    if configured is not None and output_format is not None:
        raise InvalidRequestError(
            "Send either output_config.format or output_format, not both.",
            param="output_format",
        )
    if configured is not None:
        return bounded_schema(configured.schema, "output_config.format.schema")
    if output_format is not None:
        return bounded_schema(output_format.schema, "output_format.schema")
    return None


def _reject_server_only(request: an.MessagesRequest | an.CountTokensRequest) -> None:
    for field, reason in _SERVER_ONLY_FIELDS:
        value = getattr(request, field, None)
        names = isinstance(value, list) and value and all(isinstance(n, str) for n in value)
        if field == "mcp_servers" and names:
            continue  # the names of servers registered here (claude_tools.mcp_names)
        if value is not None:
            raise InvalidRequestError(
                f"{field} is not supported by this server: {reason}.", param=field
            )


def _check_sampling(request: an.MessagesRequest) -> None:
    if request.max_tokens is not None and request.max_tokens < 1:
        raise InvalidRequestError(
            "max_tokens must be at least 1 (max_tokens 0, cache pre-warming, is not supported "
            "through Claude Code).",
            param="max_tokens",
        )
    if request.temperature is not None and not 0.0 <= request.temperature <= 1.0:
        raise InvalidRequestError("temperature must be between 0 and 1.", param="temperature")
    if request.top_p is not None and not 0.0 <= request.top_p <= 1.0:
        raise InvalidRequestError("top_p must be between 0 and 1.", param="top_p")
    if request.top_k is not None and request.top_k < 0:
        raise InvalidRequestError("top_k must not be negative.", param="top_k")


# --------------------------------------------------------------------------------------
# Entry points


class MessagesTurn(msgspec.Struct, frozen=True):
    """The Turn of a Messages request, the request fields that had no effect, and what
    its ``context_management`` edits cleared (``None`` when it sent none)."""

    turn: Turn
    ignored: tuple[str, ...] = ()
    context_management: ao.ContextManagementOut | None = None


def messages_request_to_turn(
    request: an.MessagesRequest,
    *,
    default_model: str,
    headers: Mapping[str, str],
    allow_server_tools: bool = False,
) -> MessagesTurn:
    """Build the Turn for a ``POST /v1/messages`` request.

    Raises:
        InvalidRequestError: a field is invalid or unsupported (``param`` names it).
    """
    _reject_server_only(request)
    _check_sampling(request)
    claude = ClaudeHeaders.parse(headers)
    spoken = conversation(request.system, request.messages)
    messages = check_conversation(spoken.messages)
    ignored: tuple[str, ...] = ()
    applied: ao.ContextManagementOut | None = None
    if request.context_management is not None:
        edited = apply_context_edits(messages, request.context_management.edits)
        messages, ignored = edited.messages, edited.ignored
        applied = ao.ContextManagementOut(applied_edits=list(edited.applied))
    offered = tools_in_play(request.tools, spoken.tool_changes, referenced_tools(request.messages))
    tools = tools_of(offered, hosted_web=allow_server_tools)
    choice, parallel = tool_choice_of(request.tool_choice, tools)
    hosted = [name for tool in offered if (name := hosted_web_tool(tool.type)) is not None]
    agent = agent_settings(
        enable_tools=request.enable_tools,
        allow_server_tools=allow_server_tools,
        claude=claude,
        mcp_servers=mcp_names(request.mcp_servers),
        hosted=hosted,
    )
    effort: Effort | None = claude.effort
    if request.output_config is not None and request.output_config.effort is not None:
        effort = request.output_config.effort
    effort = spoken.effort or effort
    thinking = thinking_of(request.thinking, request.max_tokens) or claude.thinking
    turn = Turn(
        model=request.model or default_model,
        messages=messages,
        system=spoken.system,
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=parallel,
        output_schema=output_schema_of(request.output_config, request.output_format),
        max_output_tokens=request.max_tokens,
        stop_sequences=tuple(stop for stop in request.stop_sequences or () if stop),
        effort=effort,
        thinking=thinking,
        session_id=request.session_id or headers.get("x-session-id") or None,
        server_tools=agent is not None,
        max_turns=claude.max_turns,
        agent=agent,
        streamed=request.stream is True,
    )
    return MessagesTurn(turn=turn, ignored=ignored, context_management=applied)


def check_count_tokens_request(request: an.CountTokensRequest) -> None:
    """Validate a count_tokens request as ``POST /v1/messages`` would.

    A trailing assistant message is allowed here: counting a prefill is legitimate.

    Raises:
        InvalidRequestError: a field is invalid or unsupported (``param`` names it).
    """
    _reject_server_only(request)
    if not request.messages:
        raise InvalidRequestError("At least one message is required.", param="messages")
    spoken = conversation(request.system, request.messages)
    offered = tools_in_play(request.tools, spoken.tool_changes, referenced_tools(request.messages))
    tools = tools_of(offered)
    tool_choice_of(request.tool_choice, tools)
    thinking_of(request.thinking, None)
    output_schema_of(request.output_config, request.output_format)


def count_tokens_payload(raw: bytes, *, default_model: str) -> dict[str, Any]:
    """The body to forward to Claude's count_tokens: the client's own fields, as sent.

    Only the fields Anthropic's count_tokens accepts are kept (its API refuses
    unknown ones); a missing ``model`` gets the server's default, and the beta
    top-level ``output_format`` moves to ``output_config.format``.
    """
    document = msgspec.json.decode(raw)
    if not isinstance(document, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    payload = {key: document[key] for key in an.COUNT_TOKENS_FIELDS if key in document}
    if not payload.get("model"):
        payload["model"] = default_model
    output_format = document.get("output_format")
    if output_format is not None:
        config = dict(payload.get("output_config") or {})
        config["format"] = output_format
        payload["output_config"] = config
    return payload
