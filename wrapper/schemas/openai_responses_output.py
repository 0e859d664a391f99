"""OpenAI Responses API output types: the ``response`` object, its output items and the
named stream events.

Shapes follow OpenAI's OpenAPI document (``Response``, ``OutputMessage``,
``FunctionToolCall``, ``ReasoningItem``, ``ResponseUsage`` and the
``ResponseStreamEvent`` variants). Every required field of the response object is
always present (``null`` where the schema allows it); ``usage`` and ``user``,
which the schema does not allow to be ``null``, are left out until they have a
value. Each event's ``type`` is its tag and also its SSE event name.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from wrapper.schemas.openai_responses import TextConfig, ToolChoiceValue

ItemStatus = Literal["in_progress", "completed", "incomplete"]
ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]

# --------------------------------------------------------------------------------------
# Output items


class OutputText(msgspec.Struct, tag_field="type", tag="output_text"):
    text: str
    annotations: list[Any] = []
    logprobs: list[Any] = []


class OutputMessage(msgspec.Struct, tag_field="type", tag="message"):
    id: str
    status: ItemStatus
    content: list[OutputText]
    role: Literal["assistant"] = "assistant"


class FunctionCall(msgspec.Struct, tag_field="type", tag="function_call"):
    id: str
    call_id: str
    name: str
    arguments: str
    status: ItemStatus
    # Set when the function belongs to a namespace tool; ``name`` is then its name inside it.
    namespace: str | msgspec.UnsetType = msgspec.UNSET


class CustomToolCall(msgspec.Struct, tag_field="type", tag="custom_tool_call"):
    id: str
    call_id: str
    name: str
    input: str
    status: ItemStatus


class SummaryText(msgspec.Struct, tag_field="type", tag="summary_text"):
    text: str


class Reasoning(msgspec.Struct, tag_field="type", tag="reasoning", omit_defaults=True):
    id: str
    summary: list[SummaryText]
    status: ItemStatus
    encrypted_content: str | None = None


OutputItem = OutputMessage | FunctionCall | CustomToolCall | Reasoning


# --------------------------------------------------------------------------------------
# The response object


class InputTokensDetails(msgspec.Struct):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(msgspec.Struct):
    reasoning_tokens: int = 0


class ResponseUsage(msgspec.Struct):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class ResponseError(msgspec.Struct):
    code: str
    message: str


class IncompleteDetails(msgspec.Struct):
    reason: Literal["max_output_tokens", "content_filter"]


class FunctionToolOut(msgspec.Struct, tag_field="type", tag="function"):
    name: str
    parameters: dict[str, Any] | None
    strict: bool | None
    description: str | None = None


class NamespaceToolOut(msgspec.Struct, tag_field="type", tag="namespace"):
    name: str
    description: str | None
    tools: list[FunctionToolOut]


class CustomToolOut(msgspec.Struct, tag_field="type", tag="custom", omit_defaults=True):
    name: str
    description: str | None = None
    format: dict[str, Any] | None = None


ToolOut = FunctionToolOut | NamespaceToolOut | CustomToolOut


class ReasoningOut(msgspec.Struct, frozen=True):
    effort: str | None = None
    summary: str | None = None


class Response(msgspec.Struct, kw_only=True):
    """The ``response`` object (``Response`` in the OpenAPI document)."""

    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: ResponseStatus
    completed_at: int | None = None
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    model: str
    output: list[OutputItem] = []
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    reasoning: ReasoningOut = ReasoningOut()
    store: bool = True
    temperature: float = 1.0
    text: TextConfig = TextConfig()
    tool_choice: ToolChoiceValue = "auto"
    tools: list[ToolOut] = []
    top_p: float = 1.0
    truncation: str = "disabled"
    usage: ResponseUsage | msgspec.UnsetType = msgspec.UNSET
    user: str | msgspec.UnsetType = msgspec.UNSET
    metadata: dict[str, str] = {}
    background: bool = False
    service_tier: str = "default"
    top_logprobs: int = 0
    max_tool_calls: int | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None


class DeletedResponse(msgspec.Struct):
    id: str
    object: str = "response.deleted"
    deleted: bool = True


# --------------------------------------------------------------------------------------
# Stream events (each payload carries its own ``type`` and ``sequence_number``)


class ResponseCreated(msgspec.Struct, tag_field="type", tag="response.created", kw_only=True):
    response: Response
    sequence_number: int


class ResponseInProgress(
    msgspec.Struct, tag_field="type", tag="response.in_progress", kw_only=True
):
    response: Response
    sequence_number: int


class ResponseCompleted(msgspec.Struct, tag_field="type", tag="response.completed", kw_only=True):
    response: Response
    sequence_number: int


class ResponseIncomplete(msgspec.Struct, tag_field="type", tag="response.incomplete", kw_only=True):
    response: Response
    sequence_number: int


class ResponseFailed(msgspec.Struct, tag_field="type", tag="response.failed", kw_only=True):
    response: Response
    sequence_number: int


class ErrorEvent(msgspec.Struct, tag_field="type", tag="error", kw_only=True):
    code: str | None
    message: str
    param: str | None
    sequence_number: int


class OutputItemAdded(
    msgspec.Struct, tag_field="type", tag="response.output_item.added", kw_only=True
):
    output_index: int
    item: OutputItem
    sequence_number: int


class OutputItemDone(
    msgspec.Struct, tag_field="type", tag="response.output_item.done", kw_only=True
):
    output_index: int
    item: OutputItem
    sequence_number: int


class ContentPartAdded(
    msgspec.Struct, tag_field="type", tag="response.content_part.added", kw_only=True
):
    item_id: str
    output_index: int
    content_index: int
    part: OutputText
    sequence_number: int


class ContentPartDone(
    msgspec.Struct, tag_field="type", tag="response.content_part.done", kw_only=True
):
    item_id: str
    output_index: int
    content_index: int
    part: OutputText
    sequence_number: int


class OutputTextDelta(
    msgspec.Struct, tag_field="type", tag="response.output_text.delta", kw_only=True
):
    item_id: str
    output_index: int
    content_index: int
    delta: str
    logprobs: list[Any] = []
    sequence_number: int


class OutputTextDone(
    msgspec.Struct, tag_field="type", tag="response.output_text.done", kw_only=True
):
    item_id: str
    output_index: int
    content_index: int
    text: str
    logprobs: list[Any] = []
    sequence_number: int


class ArgumentsDelta(
    msgspec.Struct, tag_field="type", tag="response.function_call_arguments.delta", kw_only=True
):
    item_id: str
    output_index: int
    delta: str
    sequence_number: int


class ArgumentsDone(
    msgspec.Struct, tag_field="type", tag="response.function_call_arguments.done", kw_only=True
):
    item_id: str
    output_index: int
    name: str
    arguments: str
    sequence_number: int


class CustomInputDelta(
    msgspec.Struct, tag_field="type", tag="response.custom_tool_call_input.delta", kw_only=True
):
    item_id: str
    output_index: int
    delta: str
    sequence_number: int


class CustomInputDone(
    msgspec.Struct, tag_field="type", tag="response.custom_tool_call_input.done", kw_only=True
):
    item_id: str
    output_index: int
    input: str
    sequence_number: int


class SummaryPartAdded(
    msgspec.Struct, tag_field="type", tag="response.reasoning_summary_part.added", kw_only=True
):
    item_id: str
    output_index: int
    summary_index: int
    part: SummaryText
    sequence_number: int


class SummaryPartDone(
    msgspec.Struct, tag_field="type", tag="response.reasoning_summary_part.done", kw_only=True
):
    item_id: str
    output_index: int
    summary_index: int
    part: SummaryText
    sequence_number: int


class SummaryTextDelta(
    msgspec.Struct, tag_field="type", tag="response.reasoning_summary_text.delta", kw_only=True
):
    item_id: str
    output_index: int
    summary_index: int
    delta: str
    sequence_number: int


class SummaryTextDone(
    msgspec.Struct, tag_field="type", tag="response.reasoning_summary_text.done", kw_only=True
):
    item_id: str
    output_index: int
    summary_index: int
    text: str
    sequence_number: int


StreamEvent = (
    ResponseCreated
    | ResponseInProgress
    | ResponseCompleted
    | ResponseIncomplete
    | ResponseFailed
    | ErrorEvent
    | OutputItemAdded
    | OutputItemDone
    | ContentPartAdded
    | ContentPartDone
    | OutputTextDelta
    | OutputTextDone
    | ArgumentsDelta
    | ArgumentsDone
    | CustomInputDelta
    | CustomInputDone
    | SummaryPartAdded
    | SummaryPartDone
    | SummaryTextDelta
    | SummaryTextDone
)


def event_name(event: StreamEvent) -> str:
    """The event's ``type`` (its tag), which is also its SSE ``event:`` name."""
    return str(type(event).__struct_config__.tag)
