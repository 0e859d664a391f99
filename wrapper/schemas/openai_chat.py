"""OpenAI Chat Completions wire types (request, response, stream chunk).

Field names and shapes follow OpenAI's OpenAPI document
(``CreateChatCompletionRequest``, ``CreateChatCompletionResponse``,
``CreateChatCompletionStreamResponse``). Unknown request fields are accepted and
reported by ``POST /v1/compatibility``; every known field has a documented fate
(docs/compatibility.md).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from wrapper.schemas.fields import ModelName

# --------------------------------------------------------------------------------------
# Request: content parts


class ImageURL(msgspec.Struct, frozen=True):
    url: str
    detail: str | None = None


class TextContentPart(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    text: str


class ImageContentPart(msgspec.Struct, frozen=True, tag_field="type", tag="image_url"):
    image_url: ImageURL


class InputAudio(msgspec.Struct, frozen=True):
    data: str
    format: str


class AudioContentPart(msgspec.Struct, frozen=True, tag_field="type", tag="input_audio"):
    input_audio: InputAudio


class FileObject(msgspec.Struct, frozen=True):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FileContentPart(msgspec.Struct, frozen=True, tag_field="type", tag="file"):
    file: FileObject


class RefusalContentPart(msgspec.Struct, frozen=True, tag_field="type", tag="refusal"):
    refusal: str


ContentPart = (
    TextContentPart | ImageContentPart | AudioContentPart | FileContentPart | RefusalContentPart
)
Content = str | list[ContentPart]


# --------------------------------------------------------------------------------------
# Request: messages


class FunctionCall(msgspec.Struct, frozen=True):
    name: str
    arguments: str


class ToolCall(msgspec.Struct, frozen=True):
    id: str
    function: FunctionCall
    type: Literal["function"] = "function"


class SystemMessage(msgspec.Struct, frozen=True, tag_field="role", tag="system"):
    content: Content
    name: str | None = None


class DeveloperMessage(msgspec.Struct, frozen=True, tag_field="role", tag="developer"):
    content: Content
    name: str | None = None


class UserMessage(msgspec.Struct, frozen=True, tag_field="role", tag="user"):
    content: Content
    name: str | None = None


class AssistantMessage(msgspec.Struct, frozen=True, tag_field="role", tag="assistant"):
    content: Content | None = None
    name: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    reasoning_content: str | None = None


class ToolMessage(msgspec.Struct, frozen=True, tag_field="role", tag="tool"):
    content: Content
    tool_call_id: str


class FunctionMessage(msgspec.Struct, frozen=True, tag_field="role", tag="function"):
    name: str
    content: str | None = None


ChatMessage = (
    SystemMessage
    | DeveloperMessage
    | UserMessage
    | AssistantMessage
    | ToolMessage
    | FunctionMessage
)


# --------------------------------------------------------------------------------------
# Request: tools and formats


class FunctionDefinition(msgspec.Struct, frozen=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionTool(msgspec.Struct, frozen=True, tag_field="type", tag="function"):
    function: FunctionDefinition


class CustomToolDefinition(msgspec.Struct, frozen=True):
    name: str
    description: str | None = None
    format: dict[str, Any] | None = None


class CustomTool(msgspec.Struct, frozen=True, tag_field="type", tag="custom"):
    custom: CustomToolDefinition


Tool = FunctionTool | CustomTool


class NamedFunction(msgspec.Struct, frozen=True):
    name: str


class NamedToolChoice(msgspec.Struct, frozen=True, tag_field="type", tag="function"):
    function: NamedFunction


class NamedCustomToolChoice(msgspec.Struct, frozen=True, tag_field="type", tag="custom"):
    custom: NamedFunction


class AllowedTools(msgspec.Struct, frozen=True):
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


class AllowedToolsChoice(msgspec.Struct, frozen=True, tag_field="type", tag="allowed_tools"):
    allowed_tools: AllowedTools


ToolChoiceValue = (
    Literal["none", "auto", "required"]
    | NamedToolChoice
    | NamedCustomToolChoice
    | AllowedToolsChoice
)
FunctionCallChoice = Literal["none", "auto"] | NamedFunction


class JSONSchemaFormat(msgspec.Struct, frozen=True):
    name: str
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class ResponseFormatText(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    pass


class ResponseFormatJSONObject(msgspec.Struct, frozen=True, tag_field="type", tag="json_object"):
    pass


class ResponseFormatJSONSchema(msgspec.Struct, frozen=True, tag_field="type", tag="json_schema"):
    json_schema: JSONSchemaFormat


ResponseFormat = ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema


class StreamOptions(msgspec.Struct, frozen=True):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class ChatCompletionRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/chat/completions``: every field of OpenAI's request, plus extensions."""

    messages: list[ChatMessage]
    model: ModelName | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    seed: int | None = None
    user: str | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoiceValue | None = None
    parallel_tool_calls: bool | None = None
    functions: list[FunctionDefinition] | None = None
    function_call: FunctionCallChoice | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    verbosity: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_options: dict[str, Any] | None = None
    prompt_cache_retention: str | None = None
    moderation: dict[str, Any] | None = None
    safety_identifier: str | None = None
    # Extensions understood by the existing wrapper (sent with ``extra_body``).
    session_id: str | None = None
    enable_tools: bool | None = None
    # Registered MCP servers to connect (needs ``enable_tools``); validated in translate.
    mcp_servers: Any = None


REQUEST_DECODER = msgspec.json.Decoder(ChatCompletionRequest)


# --------------------------------------------------------------------------------------
# Response


class PromptTokensDetails(msgspec.Struct):
    cached_tokens: int = 0


class CompletionTokensDetails(msgspec.Struct):
    reasoning_tokens: int = 0


class CompletionUsage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


class ResponseFunctionCall(msgspec.Struct):
    name: str
    arguments: str


class ResponseToolCall(msgspec.Struct):
    id: str
    function: ResponseFunctionCall
    type: str = "function"


class ResponseMessage(msgspec.Struct, omit_defaults=True):
    role: str
    content: str | None
    refusal: str | None
    tool_calls: list[ResponseToolCall] | None = None
    function_call: ResponseFunctionCall | None = None
    reasoning_content: str | None = None


class Choice(msgspec.Struct):
    index: int
    message: ResponseMessage
    finish_reason: str
    logprobs: None = None


class ChatCompletion(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    object: str = "chat.completion"
    # OpenAI types it as a string; this server has no fingerprint, so it is left out.
    system_fingerprint: str | msgspec.UnsetType = msgspec.UNSET
    service_tier: str | None = None


# --------------------------------------------------------------------------------------
# Stream chunks


class DeltaFunction(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    arguments: str | None = None


class DeltaToolCall(msgspec.Struct, omit_defaults=True):
    index: int
    id: str | None = None
    type: str | None = None
    function: DeltaFunction | None = None


class Delta(msgspec.Struct, omit_defaults=True):
    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[DeltaToolCall] | None = None
    function_call: DeltaFunction | None = None
    refusal: str | None = None


class ChunkChoice(msgspec.Struct):
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletionChunk(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    object: str = "chat.completion.chunk"
    # OpenAI types it as a string; this server has no fingerprint, so it is left out.
    system_fingerprint: str | msgspec.UnsetType = msgspec.UNSET
    usage: CompletionUsage | None = None
