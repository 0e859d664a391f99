"""Anthropic Messages API request wire types (``/v1/messages`` and ``count_tokens``).

Field names and shapes follow Anthropic's Messages API reference and the types of
the official ``anthropic`` Python client (the response ``message`` and the SSE
events are in :mod:`wrapper.schemas.anthropic_output`). Every documented request field is
modelled so that it gets a decided fate in ``wrapper.translate.anthropic.request``
(honoured, mapped, ignored or rejected; docs/compatibility-anthropic.md lists
them). Unknown fields are ignored, as msgspec does by default. Content blocks
of Anthropic's server tools are modelled without their bodies only so that the
translator can reject them with a clear message.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from wrapper.schemas.fields import ModelName

# --------------------------------------------------------------------------------------
# Request: content blocks


class CacheControl(msgspec.Struct, frozen=True):
    type: str = "ephemeral"
    ttl: str | None = None


class TextBlock(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    text: str
    cache_control: CacheControl | None = None
    citations: list[dict[str, Any]] | None = None


class Base64ImageSource(msgspec.Struct, frozen=True, tag_field="type", tag="base64"):
    media_type: str
    data: str


class URLImageSource(msgspec.Struct, frozen=True, tag_field="type", tag="url"):
    url: str


class FileSource(msgspec.Struct, frozen=True, tag_field="type", tag="file"):
    file_id: str


ImageSource = Base64ImageSource | URLImageSource | FileSource


class ImageBlock(msgspec.Struct, frozen=True, tag_field="type", tag="image"):
    source: ImageSource
    cache_control: CacheControl | None = None


class Base64DocumentSource(msgspec.Struct, frozen=True, tag_field="type", tag="base64"):
    media_type: str
    data: str


class PlainTextSource(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    data: str
    media_type: str = "text/plain"


class ContentSource(msgspec.Struct, frozen=True, tag_field="type", tag="content"):
    content: str | list[TextBlock | ImageBlock]


class URLDocumentSource(msgspec.Struct, frozen=True, tag_field="type", tag="url"):
    url: str


DocumentSource = (
    Base64DocumentSource | PlainTextSource | ContentSource | URLDocumentSource | FileSource
)


class CitationsConfig(msgspec.Struct, frozen=True):
    enabled: bool = False


class DocumentBlock(msgspec.Struct, frozen=True, tag_field="type", tag="document"):
    source: DocumentSource
    title: str | None = None
    context: str | None = None
    citations: CitationsConfig | None = None
    cache_control: CacheControl | None = None


class ToolUseBlock(msgspec.Struct, frozen=True, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: dict[str, Any]
    cache_control: CacheControl | None = None


class SearchResultBlock(msgspec.Struct, frozen=True, tag_field="type", tag="search_result"):
    """Modelled only to be rejected (search results are not passed through Claude Code)."""


class ToolReferenceBlock(msgspec.Struct, frozen=True, tag_field="type", tag="tool_reference"):
    """A tool search result naming a deferred tool (``defer_loading``) to load."""

    tool_name: str | None = None
    name: str | None = None


ToolResultContent = TextBlock | ImageBlock | DocumentBlock | SearchResultBlock | ToolReferenceBlock


class ToolResultBlock(msgspec.Struct, frozen=True, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str | list[ToolResultContent] | None = None
    is_error: bool = False
    cache_control: CacheControl | None = None


class ThinkingBlock(msgspec.Struct, frozen=True, tag_field="type", tag="thinking"):
    thinking: str
    signature: str


class RedactedThinkingBlock(msgspec.Struct, frozen=True, tag_field="type", tag="redacted_thinking"):
    data: str


# Blocks of Anthropic's server-side tools and containers: decoded (bodies ignored) so
# the translator can name them in a 400 instead of a bare "invalid tag" message.


class ServerToolUseBlock(msgspec.Struct, frozen=True, tag_field="type", tag="server_tool_use"):
    pass


class WebSearchResultBlock(
    msgspec.Struct, frozen=True, tag_field="type", tag="web_search_tool_result"
):
    pass


class WebFetchResultBlock(
    msgspec.Struct, frozen=True, tag_field="type", tag="web_fetch_tool_result"
):
    pass


class CodeExecutionResultBlock(
    msgspec.Struct, frozen=True, tag_field="type", tag="code_execution_tool_result"
):
    pass


class BashCodeExecutionResultBlock(
    msgspec.Struct, frozen=True, tag_field="type", tag="bash_code_execution_tool_result"
):
    pass


class TextEditorCodeExecutionResultBlock(
    msgspec.Struct, frozen=True, tag_field="type", tag="text_editor_code_execution_tool_result"
):
    pass


class ToolSearchResultBlock(
    msgspec.Struct, frozen=True, tag_field="type", tag="tool_search_tool_result"
):
    pass


class ContainerUploadBlock(msgspec.Struct, frozen=True, tag_field="type", tag="container_upload"):
    pass


class MCPToolUseBlock(msgspec.Struct, frozen=True, tag_field="type", tag="mcp_tool_use"):
    pass


class MCPToolResultBlock(msgspec.Struct, frozen=True, tag_field="type", tag="mcp_tool_result"):
    pass


ServerBlock = (
    ServerToolUseBlock
    | WebSearchResultBlock
    | WebFetchResultBlock
    | CodeExecutionResultBlock
    | BashCodeExecutionResultBlock
    | TextEditorCodeExecutionResultBlock
    | ToolSearchResultBlock
    | ContainerUploadBlock
    | MCPToolUseBlock
    | MCPToolResultBlock
)

ContentBlock = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | SearchResultBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ServerToolUseBlock
    | WebSearchResultBlock
    | WebFetchResultBlock
    | CodeExecutionResultBlock
    | BashCodeExecutionResultBlock
    | TextEditorCodeExecutionResultBlock
    | ToolSearchResultBlock
    | ContainerUploadBlock
    | MCPToolUseBlock
    | MCPToolResultBlock
)

MessageContent = str | list[ContentBlock]


# --------------------------------------------------------------------------------------
# Request: messages, tools, options


class JSONOutputFormat(msgspec.Struct, frozen=True):
    schema: dict[str, Any]
    type: Literal["json_schema"] = "json_schema"


class OutputConfig(msgspec.Struct, frozen=True):
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None
    format: JSONOutputFormat | None = None


class UserMessage(msgspec.Struct, frozen=True, tag_field="role", tag="user"):
    content: MessageContent


class AssistantMessage(msgspec.Struct, frozen=True, tag_field="role", tag="assistant"):
    content: MessageContent


class ToolAdditionBlock(msgspec.Struct, frozen=True, tag_field="type", tag="tool_addition"):
    """A tool offered from this point of the conversation on (mid-conversation tool changes)."""

    tool: dict[str, Any]


class ToolRemovalBlock(msgspec.Struct, frozen=True, tag_field="type", tag="tool_removal"):
    """A tool withdrawn from this point of the conversation on."""

    tool: dict[str, Any]


SystemBlock = TextBlock | ToolAdditionBlock | ToolRemovalBlock


class SystemMessage(msgspec.Struct, frozen=True, tag_field="role", tag="system"):
    """A system turn; inside the conversation it is a per-turn control message."""

    content: str | list[SystemBlock]
    output_config: OutputConfig | None = None
    clear_at: str | None = None


InputMessage = UserMessage | AssistantMessage | SystemMessage


class Tool(msgspec.Struct, frozen=True):
    """A tool definition: a custom (client) tool, or one of Anthropic's server tools.

    Server tools carry a versioned ``type`` (``web_search_20250305``...) and no
    ``input_schema``; their other fields are ignored because they are rejected.
    """

    name: str
    type: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    cache_control: CacheControl | None = None
    strict: bool | None = None
    defer_loading: bool | None = None
    eager_input_streaming: bool | None = None
    input_examples: list[dict[str, Any]] | None = None
    allowed_callers: list[str] | None = None


class ToolChoiceAuto(msgspec.Struct, frozen=True, tag_field="type", tag="auto"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(msgspec.Struct, frozen=True, tag_field="type", tag="any"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(msgspec.Struct, frozen=True, tag_field="type", tag="tool"):
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(msgspec.Struct, frozen=True, tag_field="type", tag="none"):
    pass


ToolChoice = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone

ThinkingDisplay = Literal["summarized", "omitted", "updates"]


class ThinkingEnabled(msgspec.Struct, frozen=True, tag_field="type", tag="enabled"):
    budget_tokens: int
    display: ThinkingDisplay | None = None


class ThinkingDisabled(msgspec.Struct, frozen=True, tag_field="type", tag="disabled"):
    pass


class ThinkingAdaptive(msgspec.Struct, frozen=True, tag_field="type", tag="adaptive"):
    display: ThinkingDisplay | None = None


class ThinkingBetweenTools(msgspec.Struct, frozen=True, tag_field="type", tag="between_tools"):
    pass


Thinking = ThinkingEnabled | ThinkingDisabled | ThinkingAdaptive | ThinkingBetweenTools


class Metadata(msgspec.Struct, frozen=True):
    user_id: str | None = None


class ContextManagement(msgspec.Struct, frozen=True):
    """``context_management``: edits are kept as objects so that each has a decided fate."""

    edits: list[dict[str, Any]] = []


class MessagesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/messages``. ``model`` and ``max_tokens`` are optional here (see docs)."""

    messages: list[InputMessage]
    model: ModelName | None = None
    max_tokens: int | None = None
    system: str | list[TextBlock] | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    metadata: Metadata | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    output_format: JSONOutputFormat | None = None
    service_tier: Literal["auto", "standard_only"] | None = None
    speed: Literal["standard", "fast"] | None = None
    inference_geo: str | None = None
    cache_control: CacheControl | None = None
    diagnostics: dict[str, Any] | None = None
    user_profile_id: str | None = None
    workspace_id: str | None = None
    # Extension (``extra_body``; or the X-Session-Id header): a server-side client session.
    session_id: str | None = None
    # Extension: Claude Code's own tools (``mcp_servers`` as a list of names selects
    # registered MCP servers; Anthropic's own connector objects are refused).
    enable_tools: bool | None = None
    # Context editing: applied to the conversation before the turn is built.
    context_management: ContextManagement | None = None
    # Beta features that need Anthropic's servers; rejected when present.
    container: Any = None
    mcp_servers: Any = None
    compaction: Any = None
    fallbacks: Any = None
    thread: Any = None


class CountTokensRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/messages/count_tokens``."""

    messages: list[InputMessage]
    model: ModelName | None = None
    system: str | list[TextBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    output_format: JSONOutputFormat | None = None
    cache_control: CacheControl | None = None
    speed: Literal["standard", "fast"] | None = None
    user_profile_id: str | None = None
    workspace_id: str | None = None
    container: Any = None
    mcp_servers: Any = None
    context_management: ContextManagement | None = None


# Top-level fields of a count_tokens request that Anthropic's API accepts; only these
# are forwarded upstream.
COUNT_TOKENS_FIELDS: tuple[str, ...] = (
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "cache_control",
    "speed",
)


class CountTokensResponse(msgspec.Struct, frozen=True):
    input_tokens: int


REQUEST_DECODER = msgspec.json.Decoder(MessagesRequest)
COUNT_TOKENS_DECODER = msgspec.json.Decoder(CountTokensRequest)
