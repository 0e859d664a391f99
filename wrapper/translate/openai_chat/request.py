"""OpenAI Chat Completions request -> Turn.

Every request field has a fate here or in docs/compatibility.md: mapped onto
the Turn, enforced (``stop``, ``n``, ``parallel_tool_calls``), rejected with a
400 naming the field (``logprobs``, audio), or accepted and ignored (sampling
knobs the CLI does not expose).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wrapper.errors import InvalidRequestError
from wrapper.events import (
    Part,
    Role,
    TextPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    Turn,
)
from wrapper.schemas import openai_chat as oa
from wrapper.translate.claude_tools import agent_settings, mcp_names
from wrapper.translate.conversation import check_conversation, check_tools, merge_roles
from wrapper.translate.headers import ClaudeHeaders
from wrapper.translate.limits import bounded_schema
from wrapper.translate.media import document_from_data, image_from_url
from wrapper.translate.openai_shared import (
    EMPTY_SCHEMA,
    JSON_OBJECT_SCHEMA,
    call_arguments,
    keep_allowed_tools,
    reasoning_settings,
)


def _text_of(content: oa.Content | None, param: str) -> str:
    """The text of a system/developer/tool message (text parts only)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for index, part in enumerate(content):
        if not isinstance(part, oa.TextContentPart):
            raise InvalidRequestError(
                "Only text parts are allowed here.", param=f"{param}.content[{index}]"
            )
        texts.append(part.text)
    return "\n".join(texts)


def _user_parts(content: oa.Content, param: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(text=content)] if content else []
    parts: list[Part] = []
    for index, part in enumerate(content):
        where = f"{param}.content[{index}]"
        if isinstance(part, oa.TextContentPart):
            if part.text:
                parts.append(TextPart(text=part.text))
        elif isinstance(part, oa.ImageContentPart):
            parts.append(image_from_url(part.image_url.url, f"{where}.image_url.url"))
        elif isinstance(part, oa.FileContentPart):
            if part.file.file_data is None:
                raise InvalidRequestError(
                    "Files must be sent inline as file_data; file_id is not supported.",
                    param=f"{where}.file",
                )
            parts.append(
                document_from_data(
                    part.file.file_data, f"{where}.file.file_data", part.file.filename
                )
            )
        elif isinstance(part, oa.AudioContentPart):
            raise InvalidRequestError("Audio input is not supported by Claude.", param=where)
        else:
            raise InvalidRequestError(
                "A refusal part is only valid in assistant messages.", param=where
            )
    return parts


def _assistant_parts(message: oa.AssistantMessage, param: str, legacy_ids: list[str]) -> list[Part]:
    parts: list[Part] = []
    if isinstance(message.content, str):
        if message.content:
            parts.append(TextPart(text=message.content))
    elif message.content is not None:
        for index, part in enumerate(message.content):
            if isinstance(part, oa.TextContentPart) and part.text:
                parts.append(TextPart(text=part.text))
            elif isinstance(part, oa.RefusalContentPart):
                parts.append(TextPart(text=part.refusal))
            elif not isinstance(part, oa.TextContentPart):
                raise InvalidRequestError(
                    "Assistant messages may hold only text and refusal parts.",
                    param=f"{param}.content[{index}]",
                )
    if message.refusal and not parts:
        parts.append(TextPart(text=message.refusal))
    for index, call in enumerate(message.tool_calls or ()):
        parts.append(
            ToolUsePart(
                id=call.id,
                name=call.function.name,
                input=call_arguments(
                    call.function.arguments, f"{param}.tool_calls[{index}].function.arguments"
                ),
            )
        )
    if message.function_call is not None:
        call_id = f"call_legacy_{len(legacy_ids)}"
        legacy_ids.append(call_id)
        parts.append(
            ToolUsePart(
                id=call_id,
                name=message.function_call.name,
                input=call_arguments(
                    message.function_call.arguments, f"{param}.function_call.arguments"
                ),
            )
        )
    return parts


def _conversation(
    request: oa.ChatCompletionRequest,
) -> tuple[str | None, list[tuple[Role, list[Part]]]]:
    system: list[str] = []
    turns: list[tuple[Role, list[Part]]] = []
    legacy_ids: list[str] = []
    for index, message in enumerate(request.messages):
        param = f"messages[{index}]"
        if isinstance(message, oa.SystemMessage | oa.DeveloperMessage):
            text = _text_of(message.content, param)
            if text:
                system.append(text)
        elif isinstance(message, oa.UserMessage):
            turns.append(("user", _user_parts(message.content, param)))
        elif isinstance(message, oa.AssistantMessage):
            turns.append(("assistant", _assistant_parts(message, param, legacy_ids)))
        elif isinstance(message, oa.ToolMessage):
            text = _text_of(message.content, param)
            content = (TextPart(text=text),) if text else ()
            turns.append(
                ("user", [ToolResultPart(tool_use_id=message.tool_call_id, content=content)])
            )
        else:
            if not legacy_ids:
                raise InvalidRequestError(
                    "A function message must follow an assistant function_call.", param=param
                )
            text = message.content or ""
            content = (TextPart(text=text),) if text else ()
            turns.append(("user", [ToolResultPart(tool_use_id=legacy_ids[-1], content=content)]))
    return ("\n\n".join(system) or None), turns


def _tools(request: oa.ChatCompletionRequest) -> tuple[ToolSpec, ...]:
    definitions: list[oa.FunctionDefinition] = []
    for index, tool in enumerate(request.tools or ()):
        if isinstance(tool, oa.CustomTool):
            raise InvalidRequestError(
                "Custom (free-form) tools are not supported; define a function tool instead.",
                param=f"tools[{index}]",
            )
        definitions.append(tool.function)
    param = "tools"
    if request.functions:
        if definitions:
            raise InvalidRequestError(
                "Send either tools or functions, not both.", param="functions"
            )
        definitions = list(request.functions)
        param = "functions"
    specs = [
        ToolSpec(
            name=definition.name,
            description=definition.description or "",
            input_schema=definition.parameters or EMPTY_SCHEMA,
        )
        for definition in definitions
    ]
    return check_tools(specs, param)


def _allowed(
    choice: oa.AllowedToolsChoice, tools: tuple[ToolSpec, ...]
) -> tuple[tuple[ToolSpec, ...], ToolChoice]:
    """Restrict ``tools`` to ``allowed_tools``; its mode becomes the tool choice."""
    names: set[str] = set()
    for index, entry in enumerate(choice.allowed_tools.tools):
        function = entry.get("function") if isinstance(entry, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            raise InvalidRequestError(
                "allowed_tools entries must be {type: function, function: {name}}.",
                param=f"tool_choice.allowed_tools.tools[{index}]",
            )
        names.add(name)
    return keep_allowed_tools(
        tools, names, choice.allowed_tools.mode, "tool_choice.allowed_tools.tools"
    )


def _tool_choice(
    request: oa.ChatCompletionRequest, tools: tuple[ToolSpec, ...]
) -> tuple[tuple[ToolSpec, ...], ToolChoice]:
    choice: Any = request.tool_choice
    param = "tool_choice"
    if choice is None and request.function_call is not None:
        choice, param = request.function_call, "function_call"
    if choice is None or choice == "auto":
        return tools, ToolChoice()
    if choice == "none":
        return tools, ToolChoice(mode="none")
    if choice == "required":
        if not tools:
            raise InvalidRequestError("tool_choice 'required' needs tools.", param=param)
        return tools, ToolChoice(mode="required")
    if isinstance(choice, oa.AllowedToolsChoice):
        return _allowed(choice, tools)
    if isinstance(choice, oa.NamedCustomToolChoice):
        raise InvalidRequestError("Custom tools are not supported.", param=param)
    name = choice.function.name if isinstance(choice, oa.NamedToolChoice) else choice.name
    if name not in {tool.name for tool in tools}:
        raise InvalidRequestError(f"tool_choice names an unknown tool {name!r}.", param=param)
    return tools, ToolChoice(mode="tool", name=name)


def _output_schema(request: oa.ChatCompletionRequest) -> tuple[dict[str, Any] | None, bool]:
    fmt = request.response_format
    if isinstance(fmt, oa.ResponseFormatJSONSchema):
        schema = fmt.json_schema.schema
        if schema is None:
            raise InvalidRequestError(
                "response_format.json_schema.schema is required.",
                param="response_format.json_schema",
            )
        return bounded_schema(schema, "response_format.json_schema.schema"), False
    if isinstance(fmt, oa.ResponseFormatJSONObject):
        return JSON_OBJECT_SCHEMA, True
    return None, False


def _stop(request: oa.ChatCompletionRequest) -> tuple[str, ...]:
    if request.stop is None:
        return ()
    stops = (request.stop,) if isinstance(request.stop, str) else tuple(request.stop)
    if len(stops) > 4:
        raise InvalidRequestError("stop takes at most 4 sequences.", param="stop")
    return tuple(stop for stop in stops if stop)


def _reject_unsupported(request: oa.ChatCompletionRequest) -> None:
    if request.logprobs:
        raise InvalidRequestError(
            "logprobs is not supported: Claude does not return token log probabilities.",
            param="logprobs",
        )
    if request.top_logprobs is not None:
        raise InvalidRequestError(
            "top_logprobs is not supported: Claude does not return token log probabilities.",
            param="top_logprobs",
        )
    if request.modalities and any(modality != "text" for modality in request.modalities):
        raise InvalidRequestError("Only the text output modality is supported.", param="modalities")
    if request.audio is not None:
        raise InvalidRequestError("Audio output is not supported by Claude.", param="audio")
    if request.n is not None and not 1 <= request.n <= 8:
        raise InvalidRequestError("n must be between 1 and 8.", param="n")
    for name in ("max_tokens", "max_completion_tokens"):
        value = getattr(request, name)
        if value is not None and value < 1:
            raise InvalidRequestError(f"{name} must be at least 1.", param=name)


def chat_request_to_turn(
    request: oa.ChatCompletionRequest,
    *,
    default_model: str,
    headers: Mapping[str, str],
    allow_server_tools: bool,
) -> Turn:
    """Build the Turn for a chat completion request.

    Raises:
        InvalidRequestError: a field is invalid or unsupported (``param`` names it).
    """
    _reject_unsupported(request)
    claude = ClaudeHeaders.parse(headers)
    system, turns = _conversation(request)
    messages = check_conversation(merge_roles(turns))
    tools, tool_choice = _tool_choice(request, _tools(request))
    schema, json_object = _output_schema(request)
    agent = agent_settings(
        enable_tools=request.enable_tools,
        allow_server_tools=allow_server_tools,
        claude=claude,
        mcp_servers=mcp_names(request.mcp_servers),
    )
    limits = [v for v in (request.max_tokens, request.max_completion_tokens) if v is not None]
    effort, thinking = reasoning_settings(request.reasoning_effort, claude)
    return Turn(
        model=request.model or default_model,
        messages=messages,
        system=system,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=request.parallel_tool_calls is not False,
        output_schema=schema,
        json_object=json_object,
        max_output_tokens=min(limits) if limits else None,
        stop_sequences=_stop(request),
        effort=effort,
        thinking=thinking,
        session_id=request.session_id or headers.get("x-session-id") or None,
        server_tools=agent is not None,
        max_turns=claude.max_turns,
        agent=agent,
        streamed=request.stream is True,
    )
