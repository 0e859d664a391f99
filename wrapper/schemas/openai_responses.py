"""OpenAI Responses API request types (``POST /v1/responses``).

Field names and shapes follow OpenAI's OpenAPI document (``CreateResponse``,
``InputItem``, ``FunctionTool``, ``ToolChoiceParam``, ``ResponseTextParam``,
``Reasoning``). Every known field has a documented fate
(docs/compatibility-responses.md); unknown fields are ignored.

``input`` items are decoded one by one (:func:`decode_input_item`) because a
message item may omit its ``type``, which a tagged union cannot express; each
item type still has its own decoder, built once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from wrapper.errors import InvalidRequestError
from wrapper.schemas.fields import ModelName

# --------------------------------------------------------------------------------------
# Content parts


class InputText(msgspec.Struct, frozen=True, tag_field="type", tag="input_text"):
    text: str


class InputImage(msgspec.Struct, frozen=True, tag_field="type", tag="input_image"):
    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


class InputFile(msgspec.Struct, frozen=True, tag_field="type", tag="input_file"):
    file_data: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    filename: str | None = None


class OutputTextPart(msgspec.Struct, frozen=True, tag_field="type", tag="output_text"):
    text: str


class RefusalPart(msgspec.Struct, frozen=True, tag_field="type", tag="refusal"):
    refusal: str


ContentPart = InputText | InputImage | InputFile | OutputTextPart | RefusalPart
ToolOutputPart = InputText | InputImage | InputFile


# --------------------------------------------------------------------------------------
# Input items

MessageRole = Literal["user", "assistant", "system", "developer"]


class MessageItem(msgspec.Struct, frozen=True):
    """A message; ``type: "message"`` may be omitted (``EasyInputMessage``)."""

    role: MessageRole
    content: str | list[ContentPart]
    id: str | None = None
    status: str | None = None


class FunctionCallItem(msgspec.Struct, frozen=True):
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: str | None = None
    # The namespace tool the function belongs to (``{type: namespace, tools: [...]}``).
    namespace: str | None = None


class FunctionCallOutputItem(msgspec.Struct, frozen=True):
    call_id: str
    output: str | list[ToolOutputPart]
    id: str | None = None
    status: str | None = None


class CustomToolCallItem(msgspec.Struct, frozen=True):
    """A call of a ``custom`` tool: its free-text ``input``."""

    call_id: str
    name: str
    input: str
    id: str | None = None
    status: str | None = None


class CustomToolCallOutputItem(msgspec.Struct, frozen=True):
    call_id: str
    output: str | list[ToolOutputPart]
    id: str | None = None
    status: str | None = None


class SummaryText(msgspec.Struct, frozen=True):
    text: str
    type: str = "summary_text"


class ReasoningItem(msgspec.Struct, frozen=True):
    summary: list[SummaryText] = []
    id: str | None = None
    content: list[SummaryText] | None = None
    encrypted_content: str | None = None
    status: str | None = None


class ItemReference(msgspec.Struct, frozen=True):
    id: str


InputItem = (
    MessageItem
    | FunctionCallItem
    | FunctionCallOutputItem
    | CustomToolCallItem
    | CustomToolCallOutputItem
    | ReasoningItem
    | ItemReference
)


class _ItemKind(msgspec.Struct, frozen=True):
    type: str = "message"


_KIND_DECODER = msgspec.json.Decoder(_ItemKind)
_ITEM_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "message": msgspec.json.Decoder(MessageItem),
    "function_call": msgspec.json.Decoder(FunctionCallItem),
    "function_call_output": msgspec.json.Decoder(FunctionCallOutputItem),
    "custom_tool_call": msgspec.json.Decoder(CustomToolCallItem),
    "custom_tool_call_output": msgspec.json.Decoder(CustomToolCallOutputItem),
    "reasoning": msgspec.json.Decoder(ReasoningItem),
    "item_reference": msgspec.json.Decoder(ItemReference),
}
SUPPORTED_ITEM_TYPES = tuple(_ITEM_DECODERS)


def decode_input_item(raw: msgspec.Raw, index: int) -> InputItem:
    """Decode ``input[index]`` by its ``type`` (``message`` when absent).

    Raises:
        InvalidRequestError: the item's type is unsupported or it violates its schema;
            ``param`` is the item's path (``input[2].content[0].text``).
    """
    where = f"input[{index}]"
    try:
        kind = _KIND_DECODER.decode(raw).type
        decoder = _ITEM_DECODERS.get(kind)
        if decoder is None:
            raise InvalidRequestError(
                f"Input items of type {kind!r} are not supported; use one of "
                f"{', '.join(SUPPORTED_ITEM_TYPES)}.",
                param=f"{where}.type",
            )
        item: InputItem = decoder.decode(raw)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = _relative_path(message)
        param = f"{where}{path}"
        raise InvalidRequestError(
            f"Invalid request: {message.replace('`$', f'`$.{where}')}", param=param
        ) from None
    return item


def _relative_path(message: str) -> str:
    """msgspec's ``$.a[0].b`` path in ``message``, without the ``$`` (``.a[0].b``)."""
    start = message.rfind("`$")
    end = message.find("`", start + 1) if start != -1 else -1
    return message[start + 2 : end] if start != -1 and end != -1 else ""


# --------------------------------------------------------------------------------------
# Tools, tool choice, text format, reasoning


class FunctionToolParam(msgspec.Struct, frozen=True):
    """A tool definition of any type (the type's fate is decided in translate).

    ``function`` tools are served; a ``namespace`` groups function tools in ``tools``;
    a ``custom`` tool takes free text in its ``format`` (text, or a Lark/regex grammar);
    OpenAI's hosted tools (``web_search`` ...) carry their own fields, ignored here.
    """

    type: str
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    tools: list[FunctionToolParam] | None = None
    format: dict[str, Any] | None = None


class ToolChoiceObject(msgspec.Struct, frozen=True, omit_defaults=True):
    """``{type: function | custom, name}``, ``{type: allowed_tools, mode, tools}`` or a hosted
    type."""

    type: str
    name: str | None = None
    mode: str | None = None
    tools: list[dict[str, Any]] | None = None


ToolChoiceValue = Literal["none", "auto", "required"] | ToolChoiceObject


class FormatText(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    pass


class FormatJSONObject(msgspec.Struct, frozen=True, tag_field="type", tag="json_object"):
    pass


class FormatJSONSchema(msgspec.Struct, frozen=True, tag_field="type", tag="json_schema"):
    name: str
    schema: dict[str, Any]
    description: str | None = None
    strict: bool | None = None


TextFormat = FormatText | FormatJSONObject | FormatJSONSchema


class TextConfig(msgspec.Struct, frozen=True):
    format: TextFormat = FormatText()
    verbosity: Literal["low", "medium", "high"] | None = None


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class ReasoningConfig(msgspec.Struct, frozen=True):
    effort: ReasoningEffort | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class StreamOptions(msgspec.Struct, frozen=True):
    include_obfuscation: bool | None = None


IncludeValue = Literal[
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
]

Temperature = Annotated[float, msgspec.Meta(ge=0, le=2)]
TopP = Annotated[float, msgspec.Meta(ge=0, le=1)]


class CreateResponseRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/responses``: every field of ``CreateResponse``."""

    model: ModelName | None = None
    input: str | list[msgspec.Raw] | None = None
    instructions: str | None = None
    tools: list[FunctionToolParam] | None = None
    tool_choice: ToolChoiceValue | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    max_output_tokens: int | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    metadata: dict[str, str] | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_logprobs: int | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: dict[str, Any] | None = None
    service_tier: str | None = None
    truncation: Literal["auto", "disabled"] | None = None
    include: list[IncludeValue] | None = None
    background: bool | None = None
    max_tool_calls: int | None = None
    conversation: str | dict[str, Any] | None = None
    prompt: dict[str, Any] | None = None
    context_management: list[dict[str, Any]] | None = None
    moderation: dict[str, Any] | None = None
    # Extensions (sent with ``extra_body``): continue a server-side client session;
    # Claude Code's own tools and registered MCP servers (validated in translate).
    session_id: str | None = None
    enable_tools: bool | None = None
    mcp_servers: Any = None


REQUEST_DECODER = msgspec.json.Decoder(CreateResponseRequest)
