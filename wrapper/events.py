"""The neutral internal model shared by every dialect and the backend.

A :class:`Turn` is what a client asked for, in no dialect's shape: a system prompt,
a conversation of user/assistant messages made of content parts, client tools,
and generation options. The backend answers a Turn with a stream of
:data:`AgentEvent` values that follow the content-block structure of a Claude
message: blocks are numbered by their position in the final content, each has a
start, deltas and a stop, and a single :class:`TurnEnd` closes the stream.
Dialect translators turn these events into OpenAI chunks or Anthropic SSE events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, Literal, Protocol

import msgspec

# --------------------------------------------------------------------------------------
# Content parts (what messages are made of)


class TextPart(msgspec.Struct, frozen=True, tag="text"):
    text: str


class ImagePart(msgspec.Struct, frozen=True, tag="image"):
    """An image given inline (``data`` is base64) or by URL."""

    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class DocumentPart(msgspec.Struct, frozen=True, tag="document"):
    """A document block, passed through as the Anthropic ``source`` object."""

    source: dict[str, Any]
    title: str | None = None


class ToolUsePart(msgspec.Struct, frozen=True, tag="tool_use"):
    id: str
    name: str
    input: dict[str, Any]


class ToolResultPart(msgspec.Struct, frozen=True, tag="tool_result"):
    tool_use_id: str
    content: tuple[TextPart | ImagePart, ...] = ()
    is_error: bool = False


class ThinkingPart(msgspec.Struct, frozen=True, tag="thinking"):
    thinking: str
    signature: str


class RedactedThinkingPart(msgspec.Struct, frozen=True, tag="redacted_thinking"):
    data: str


Part = (
    TextPart
    | ImagePart
    | DocumentPart
    | ToolUsePart
    | ToolResultPart
    | ThinkingPart
    | RedactedThinkingPart
)

Role = Literal["user", "assistant"]


class Message(msgspec.Struct, frozen=True):
    role: Role
    content: tuple[Part, ...]


# --------------------------------------------------------------------------------------
# Requests


class ToolSpec(msgspec.Struct, frozen=True):
    """A client-defined tool: offered to the model, never executed here."""

    name: str
    description: str
    input_schema: dict[str, Any]


ToolChoiceMode = Literal["auto", "none", "required", "tool"]


class ToolChoice(msgspec.Struct, frozen=True):
    mode: ToolChoiceMode = "auto"
    name: str | None = None


ThinkingMode = Literal["adaptive", "enabled", "disabled"]


class ThinkingConfig(msgspec.Struct, frozen=True):
    mode: ThinkingMode
    budget_tokens: int | None = None


Effort = Literal["low", "medium", "high", "xhigh", "max"]


class McpServer(msgspec.Struct, frozen=True, kw_only=True):
    """An MCP server a turn's CLI process connects to (registered by the operator).

    ``config`` is the SDK's own shape: ``{"type": "stdio", "command", "args", "env"}``,
    or ``{"type": "http" | "sse", "url", "headers"}``.
    """

    name: str
    config: dict[str, Any]


class AgentSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How Claude Code's own tools run for one turn (``enable_tools``).

    ``None`` fields were not set by the request; the tools config (and then the
    catalogue's defaults) fills them in before the turn runs.
    """

    allowed_tools: tuple[str, ...] | None = None
    disallowed_tools: tuple[str, ...] = ()
    permission_mode: str | None = None
    # The registered MCP servers the request named (``None``: the tools config's).
    mcp_names: tuple[str, ...] | None = None
    mcp_servers: tuple[McpServer, ...] = ()
    # The directory the CLI runs in; set by the workspace layer. ``disposable``:
    # it belongs to this turn alone (removed after it, its process never reused).
    workspace: str | None = None
    disposable: bool = False


class Turn(msgspec.Struct, frozen=True, kw_only=True):
    """One request for a model reply, whatever dialect it arrived in.

    ``messages`` alternate user/assistant, start with a user message and end
    with the user message the model answers now.
    """

    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = ToolChoice()
    parallel_tool_calls: bool = True
    output_schema: dict[str, Any] | None = None
    json_object: bool = False
    max_output_tokens: int | None = None
    stop_sequences: tuple[str, ...] = ()
    effort: Effort | None = None
    thinking: ThinkingConfig | None = None
    session_id: str | None = None
    server_tools: bool = False
    max_turns: int | None = None
    # Claude Code's own tools: set exactly when ``server_tools`` is.
    agent: AgentSettings | None = None
    # The client's name for the conversation this turn belongs to (the Responses API's
    # ``prompt_cache_key``; Codex CLI sends its session id). Turns with the same key are
    # one conversation: the backend should keep serving them from the same warm process.
    conversation_key: str | None = None
    # Whether the client reads the reply as it is made. When it does not, the backend
    # may hand on a block's deltas joined (one event instead of one per word).
    streamed: bool = True


# --------------------------------------------------------------------------------------
# Events (what the backend answers)


class Usage(msgspec.Struct, frozen=True):
    """Token counts as Claude reported them (never estimated)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_tokens: int | None = None

    @property
    def prompt_tokens(self) -> int:
        """Every input token, cached or not (OpenAI's ``prompt_tokens``)."""
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens


BlockType = Literal["text", "thinking", "redacted_thinking", "tool_use"]


class MessageStart(msgspec.Struct, frozen=True):
    model: str
    usage: Usage = Usage()


class ToolStep(msgspec.Struct, frozen=True):
    """A tool Claude Code ran itself (``enable_tools``), shown as a thinking block.

    ``outcome`` is ``call`` for the block showing the call, ``ok`` or ``error`` for
    the block showing its result.
    """

    name: str
    tool_id: str
    outcome: Literal["call", "ok", "error"]


class BlockStart(msgspec.Struct, frozen=True):
    index: int
    type: BlockType
    tool_id: str | None = None
    tool_name: str | None = None
    data: str | None = None
    step: ToolStep | None = None


class TextDelta(msgspec.Struct, frozen=True):
    index: int
    text: str


class ThinkingDelta(msgspec.Struct, frozen=True):
    index: int
    thinking: str


class SignatureDelta(msgspec.Struct, frozen=True):
    index: int
    signature: str


class ToolInputDelta(msgspec.Struct, frozen=True):
    index: int
    partial_json: str


class BlockStop(msgspec.Struct, frozen=True):
    index: int


StopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]


class TurnEnd(msgspec.Struct, frozen=True):
    stop_reason: StopReason
    usage: Usage
    model: str
    stop_sequence: str | None = None
    cost_usd: float | None = None
    session_id: str | None = None


AgentEvent = (
    MessageStart
    | BlockStart
    | TextDelta
    | ThinkingDelta
    | SignatureDelta
    | ToolInputDelta
    | BlockStop
    | TurnEnd
)


class SlotWait:
    """Whether the current request's turn is still waiting in the queue for a turn slot.

    A stream's pump holds its response headers while this is set, so a stream that
    never gets a slot is refused with its own status (429/503 and ``Retry-After``)
    like a non-stream request, instead of a 200 followed by an in-stream error.
    """

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting = False


# Request-scoped: the pump sets it for its producer task, the admission queue marks it.
_SLOT_WAIT: ContextVar[SlotWait | None] = ContextVar("slot_wait", default=None)


@contextmanager
def watching_slot_wait(wait: SlotWait) -> Iterator[None]:
    """Tasks started inside report their queue waits to ``wait``."""
    token = _SLOT_WAIT.set(wait)
    try:
        yield
    finally:
        _SLOT_WAIT.reset(token)


@contextmanager
def waiting_for_slot() -> Iterator[None]:
    """Mark the current request's turn as queued while inside."""
    wait = _SLOT_WAIT.get()
    if wait is None:
        yield
        return
    wait.waiting = True
    try:
        yield
    finally:
        wait.waiting = False


class Backend(Protocol):
    """Answers Turns with streams of :data:`AgentEvent`.

    ``open(turn)`` is an async context manager: inside it, iterate the events;
    leaving it (normally, by error, or by cancellation) ends the turn and
    releases or kills its CLI process. Iteration raises
    :class:`~wrapper.errors.WrapperError` for failures, including
    :class:`~wrapper.errors.BackendTimeoutError` past ``MAX_TIMEOUT``.
    """

    def open(self, turn: Turn) -> AbstractAsyncContextManager[AsyncIterator[AgentEvent]]: ...
