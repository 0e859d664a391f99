"""OpenAI Responses request -> Turn (and the response object it will be reported in).

Every request field has a fate here and in docs/compatibility-responses.md:
mapped onto the Turn (``input``, ``instructions``, ``tools``, ``tool_choice``,
``text.format``, ``reasoning.effort``, ``max_output_tokens``, ``prompt_cache_key``...),
echoed in the response object (sampling knobs and identifiers the CLI does not
expose), left out and reported (hosted tools, see :mod:`.tools`), or rejected with
a 400 naming the field (``background``, ``conversation``, prompt templates, log
probabilities, files by id).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from wrapper.errors import InvalidRequestError
from wrapper.events import Message, Part, Role, Turn
from wrapper.schemas import openai_responses as rq
from wrapper.schemas import openai_responses_output as rs
from wrapper.translate.claude_tools import agent_settings, mcp_names
from wrapper.translate.conversation import check_conversation, merge_roles
from wrapper.translate.headers import ClaudeHeaders
from wrapper.translate.limits import bounded_schema
from wrapper.translate.openai_responses.input import input_conversation
from wrapper.translate.openai_responses.tools import tool_choice_of, tool_set
from wrapper.translate.openai_shared import JSON_OBJECT_SCHEMA, reasoning_settings

ENCRYPTED_REASONING = "reasoning.encrypted_content"
_METADATA_LIMITS = (16, 64, 512)


class Prior(msgspec.Struct, frozen=True):
    """The stored conversation a ``previous_response_id`` continues."""

    messages: tuple[Message, ...]
    system: str | None = None
    model: str | None = None


class ResponsesPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A response to run: the Turn, the response object to report it in, what to keep."""

    turn: Turn
    template: rs.Response
    store: bool = True
    system_context: str | None = None
    seal_reasoning: bool = False
    # Flat tool name -> (namespace, name): calls of namespace members, in the client's form.
    namespaced: dict[str, tuple[str, str]] = {}
    # Names of the custom tools, whose calls are reported as ``custom_tool_call`` items.
    custom: frozenset[str] = frozenset()
    # Request fields left out of the turn (hosted tools), for the x-ignored-fields header.
    ignored: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------
# Options


def _output_schema(text: rq.TextConfig | None) -> tuple[dict[str, Any] | None, bool]:
    fmt = text.format if text is not None else None
    if isinstance(fmt, rq.FormatJSONSchema):
        return bounded_schema(fmt.schema, "text.format.schema"), False
    if isinstance(fmt, rq.FormatJSONObject):
        return JSON_OBJECT_SCHEMA, True
    return None, False


def _reject_unsupported(request: rq.CreateResponseRequest) -> None:
    if request.input is None:
        raise InvalidRequestError("input is required.", param="input")
    if request.background:
        raise InvalidRequestError(
            "background responses are not supported; use stream: true for long turns.",
            param="background",
        )
    if request.conversation is not None:
        raise InvalidRequestError(
            "The Conversations API is not supported; continue with previous_response_id.",
            param="conversation",
        )
    if request.prompt is not None:
        raise InvalidRequestError(
            "Prompt templates are not supported; send instructions and input.", param="prompt"
        )
    if request.top_logprobs:
        raise InvalidRequestError(
            "top_logprobs is not supported: Claude does not return token log probabilities.",
            param="top_logprobs",
        )
    if request.include and "message.output_text.logprobs" in request.include:
        raise InvalidRequestError(
            "message.output_text.logprobs is not supported: Claude does not return token log "
            "probabilities.",
            param="include",
        )
    if request.max_output_tokens is not None and request.max_output_tokens < 1:
        raise InvalidRequestError(
            "max_output_tokens must be at least 1.", param="max_output_tokens"
        )
    _check_metadata(request.metadata)


def _check_metadata(metadata: dict[str, str] | None) -> None:
    pairs, key_size, value_size = _METADATA_LIMITS
    if not metadata:
        return
    if len(metadata) > pairs:
        raise InvalidRequestError(f"metadata holds at most {pairs} pairs.", param="metadata")
    for key, value in metadata.items():
        if len(key) > key_size or len(value) > value_size:
            raise InvalidRequestError(
                f"metadata keys hold at most {key_size} characters and values {value_size}.",
                param=f"metadata.{key[:key_size]}",
            )


def _join(*texts: str | None) -> str | None:
    return "\n\n".join(text for text in texts if text) or None


# --------------------------------------------------------------------------------------


def responses_request_to_plan(
    request: rq.CreateResponseRequest,
    *,
    response_id: str,
    created_at: int,
    default_model: str,
    headers: Mapping[str, str],
    prior: Prior | None = None,
    references: Mapping[str, tuple[Part, ...]] | None = None,
    allow_server_tools: bool = False,
) -> ResponsesPlan:
    """Build the Turn and the response template for a ``POST /v1/responses`` request.

    Raises:
        InvalidRequestError: a field is invalid or unsupported (``param`` names it).
    """
    _reject_unsupported(request)
    assert request.input is not None
    claude = ClaudeHeaders.parse(headers)
    system_messages, turns = input_conversation(request.input, references or {})
    earlier: list[tuple[Role, list[Part]]] = [
        (message.role, list(message.content)) for message in (prior.messages if prior else ())
    ]
    messages = check_conversation(merge_roles([*earlier, *turns]), param="input")
    declared = tool_set(request.tools, hosted_web=allow_server_tools)
    agent = agent_settings(
        enable_tools=request.enable_tools,
        allow_server_tools=allow_server_tools,
        claude=claude,
        mcp_servers=mcp_names(request.mcp_servers),
        hosted=declared.hosted,
    )
    tools, tool_choice = tool_choice_of(request.tool_choice, declared.specs)
    schema, json_object = _output_schema(request.text)
    requested = request.reasoning.effort if request.reasoning is not None else None
    effort, thinking = reasoning_settings(requested, claude)
    system_context = _join(prior.system if prior else None, *system_messages)
    model = request.model or (prior.model if prior else None) or default_model
    store = request.store is not False
    turn = Turn(
        model=model,
        messages=messages,
        system=_join(request.instructions, system_context),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=request.parallel_tool_calls is not False,
        output_schema=schema,
        json_object=json_object,
        max_output_tokens=request.max_output_tokens,
        effort=effort,
        thinking=thinking,
        max_turns=claude.max_turns,
        server_tools=agent is not None,
        agent=agent,
        session_id=request.session_id or headers.get("x-session-id") or None,
        conversation_key=request.prompt_cache_key,
        streamed=request.stream is True,
    )
    reasoning = request.reasoning or rq.ReasoningConfig()
    template = rs.Response(
        id=response_id,
        created_at=created_at,
        status="in_progress",
        instructions=request.instructions,
        max_output_tokens=request.max_output_tokens,
        model=model,
        parallel_tool_calls=turn.parallel_tool_calls,
        previous_response_id=request.previous_response_id,
        reasoning=rs.ReasoningOut(
            effort=reasoning.effort, summary=reasoning.summary or reasoning.generate_summary
        ),
        store=store,
        temperature=request.temperature if request.temperature is not None else 1.0,
        text=request.text or rq.TextConfig(),
        tool_choice=request.tool_choice or "auto",
        tools=declared.echo,
        top_p=request.top_p if request.top_p is not None else 1.0,
        truncation=request.truncation or "disabled",
        user=request.user if request.user is not None else msgspec.UNSET,
        metadata=dict(request.metadata or {}),
        max_tool_calls=request.max_tool_calls,
        safety_identifier=request.safety_identifier,
        prompt_cache_key=request.prompt_cache_key,
    )
    return ResponsesPlan(
        turn=turn,
        template=template,
        store=store,
        system_context=system_context,
        seal_reasoning=ENCRYPTED_REASONING in (request.include or ()),
        namespaced=declared.namespaced,
        custom=declared.custom,
        ignored=declared.ignored,
    )
