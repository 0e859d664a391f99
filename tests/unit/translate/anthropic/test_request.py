"""Anthropic Messages request -> Turn, table-driven over bodies as Anthropic clients send them."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest

from wrapper.errors import InvalidRequestError
from wrapper.events import (
    DocumentPart,
    ImagePart,
    Message,
    RedactedThinkingPart,
    TextPart,
    ThinkingConfig,
    ThinkingPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    Turn,
)
from wrapper.schemas.anthropic import COUNT_TOKENS_DECODER, REQUEST_DECODER
from wrapper.translate.anthropic.request import (
    check_count_tokens_request,
    count_tokens_payload,
    messages_request_to_turn,
    thinking_omitted,
)

DEFAULT_MODEL = "claude-default"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
WEATHER = {"name": "get_weather", "description": "Weather now", "input_schema": SCHEMA}


def decode(body: dict[str, Any]) -> Any:
    return REQUEST_DECODER.decode(msgspec.json.encode(body))


def to_turn(body: dict[str, Any], headers: dict[str, str] | None = None) -> Turn:
    body = {"max_tokens": 1024, **body}
    body.setdefault("messages", [user("hi")])
    return messages_request_to_turn(
        decode(body), default_model=DEFAULT_MODEL, headers=headers or {}
    ).turn


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def um(*parts: Any) -> Message:
    return Message(role="user", content=tuple(parts))


def am(*parts: Any) -> Message:
    return Message(role="assistant", content=tuple(parts))


def text(value: str) -> TextPart:
    return TextPart(text=value)


# --------------------------------------------------------------------------------------
# Conversation and content

CONVERSATIONS: list[tuple[str, dict[str, Any], str | None, tuple[Message, ...]]] = [
    ("string content", {"messages": [user("hi")]}, None, (um(text("hi")),)),
    (
        "system string",
        {"system": "Be brief.", "messages": [user("hi")]},
        "Be brief.",
        (um(text("hi")),),
    ),
    (
        "system text blocks (cache_control ignored)",
        {
            "system": [
                {"type": "text", "text": "Be brief."},
                {"type": "text", "text": "Use French.", "cache_control": {"type": "ephemeral"}},
            ],
            "messages": [user("hi")],
        },
        "Be brief.\n\nUse French.",
        (um(text("hi")),),
    ),
    (
        "leading system-role messages extend the system prompt",
        {
            "system": "Top.",
            "messages": [{"role": "system", "content": "Lead."}, user("hi")],
        },
        "Top.\n\nLead.",
        (um(text("hi")),),
    ),
    (
        "multi-turn history with text blocks",
        {
            "messages": [
                user([{"type": "text", "text": "My name is Alice"}]),
                assistant("Hello Alice"),
                user("Who am I?"),
            ]
        },
        None,
        (um(text("My name is Alice")), am(text("Hello Alice")), um(text("Who am I?"))),
    ),
    (
        "consecutive user messages merge; empty text dropped",
        {"messages": [user("a"), user([{"type": "text", "text": ""},
                                       {"type": "text", "text": "b"}])]},
        None,
        (um(text("a"), text("b")),),
    ),
    (
        "a conversation starting with the assistant gets a placeholder user turn",
        {"messages": [assistant("Hi there"), user("hi")]},
        None,
        (um(text("(conversation start)")), am(text("Hi there")), um(text("hi"))),
    ),
    (
        "tool round trip: tool_use and tool_result (string, blocks, is_error)",
        {
            "messages": [
                user("weather?"),
                assistant(
                    [
                        {"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                         "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "toolu_2", "name": "get_weather",
                         "input": {"city": "Oslo"}},
                    ]
                ),
                user(
                    [
                        {"type": "text", "text": "Here you go"},
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "21C"},
                        {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
                         "content": [
                             {"type": "text", "text": "down"},
                             {"type": "image", "source": {"type": "base64",
                                                          "media_type": "image/png",
                                                          "data": PNG}},
                         ]},
                    ]
                ),
            ]
        },
        None,
        (
            um(text("weather?")),
            am(
                text("Checking."),
                ToolUsePart(id="toolu_1", name="get_weather", input={"city": "Paris"}),
                ToolUsePart(id="toolu_2", name="get_weather", input={"city": "Oslo"}),
            ),
            um(
                ToolResultPart(tool_use_id="toolu_1", content=(text("21C"),)),
                ToolResultPart(
                    tool_use_id="toolu_2",
                    content=(text("down"), ImagePart(media_type="image/png", data=PNG)),
                    is_error=True,
                ),
                text("Here you go"),
            ),
        ),
    ),
    (
        "thinking and redacted thinking replayed byte-exact, signature-only kept",
        {
            "messages": [
                user("q"),
                assistant(
                    [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig/+=1"},
                        {"type": "thinking", "thinking": "", "signature": "sig-only"},
                        {"type": "redacted_thinking", "data": "opaque=="},
                        {"type": "text", "text": "a"},
                    ]
                ),
                user("more"),
            ]
        },
        None,
        (
            um(text("q")),
            am(
                ThinkingPart(thinking="hmm", signature="sig/+=1"),
                ThinkingPart(thinking="", signature="sig-only"),
                RedactedThinkingPart(data="opaque=="),
                text("a"),
            ),
            um(text("more")),
        ),
    ),
    (
        "images by base64 and URL",
        {
            "messages": [
                user(
                    [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                     "data": PNG}},
                        {"type": "image", "source": {"type": "url",
                                                     "url": "https://example.com/a.jpg"}},
                        {"type": "text", "text": "what?"},
                    ]
                )
            ]
        },
        None,
        (
            um(
                ImagePart(media_type="image/png", data=PNG),
                ImagePart(url="https://example.com/a.jpg"),
                text("what?"),
            ),
        ),
    ),
    (
        "documents: base64 PDF, plain text, content, URL",
        {
            "messages": [
                user(
                    [
                        {"type": "document", "title": "Spec",
                         "source": {"type": "base64", "media_type": "application/pdf",
                                    "data": PDF}},
                        {"type": "document",
                         "source": {"type": "text", "media_type": "text/plain", "data": "plain"}},
                        {"type": "document",
                         "source": {"type": "content",
                                    "content": [{"type": "text", "text": "chunk"}]}},
                        {"type": "document", "context": "ignored", "citations": {"enabled": True},
                         "source": {"type": "url", "url": "https://example.com/a.pdf"}},
                    ]
                )
            ]
        },
        None,
        (
            um(
                DocumentPart(
                    source={"type": "base64", "media_type": "application/pdf", "data": PDF},
                    title="Spec",
                ),
                DocumentPart(source={"type": "text", "media_type": "text/plain", "data": "plain"}),
                DocumentPart(
                    source={"type": "content", "content": [{"type": "text", "text": "chunk"}]}
                ),
                DocumentPart(source={"type": "url", "url": "https://example.com/a.pdf"}),
            ),
        ),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "system", "messages"),
    [case[1:] for case in CONVERSATIONS],
    ids=[case[0] for case in CONVERSATIONS],
)
def test_conversation(
    body: dict[str, Any], system: str | None, messages: tuple[Message, ...]
) -> None:
    turn = to_turn(body)
    assert turn.system == system
    assert turn.messages == messages


# --------------------------------------------------------------------------------------
# Options


OPTIONS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "defaults: model, no tools, Claude Code's own tools off",
        {"max_tokens": 1024},
        {"model": DEFAULT_MODEL, "tools": (), "tool_choice": ToolChoice(),
         "parallel_tool_calls": True, "server_tools": False, "thinking": None,
         "max_output_tokens": 1024, "stop_sequences": (), "output_schema": None,
         "effort": None},
    ),
    ("model passes through", {"model": "claude-opus-4-7"}, {"model": "claude-opus-4-7"}),
    ("max_tokens -> max_output_tokens", {"max_tokens": 77}, {"max_output_tokens": 77}),
    (
        "stop_sequences, empty ones dropped",
        {"stop_sequences": ["END", "", "\n\nHuman:"]},
        {"stop_sequences": ("END", "\n\nHuman:")},
    ),
    (
        "custom tools (type absent or custom)",
        {"tools": [WEATHER, {"type": "custom", "name": "noop", "input_schema": {"type": "object"},
                             "cache_control": {"type": "ephemeral"}, "strict": True}]},
        {"tools": (ToolSpec(name="get_weather", description="Weather now", input_schema=SCHEMA),
                   ToolSpec(name="noop", description="", input_schema={"type": "object"}))},
    ),
    ("tool_choice auto", {"tools": [WEATHER], "tool_choice": {"type": "auto"}},
     {"tool_choice": ToolChoice(), "parallel_tool_calls": True}),
    ("tool_choice any -> required", {"tools": [WEATHER], "tool_choice": {"type": "any"}},
     {"tool_choice": ToolChoice(mode="required")}),
    (
        "tool_choice tool -> named",
        {"tools": [WEATHER], "tool_choice": {"type": "tool", "name": "get_weather"}},
        {"tool_choice": ToolChoice(mode="tool", name="get_weather")},
    ),
    ("tool_choice none", {"tools": [WEATHER], "tool_choice": {"type": "none"}},
     {"tool_choice": ToolChoice(mode="none")}),
    (
        "disable_parallel_tool_use -> parallel_tool_calls False",
        {"tools": [WEATHER], "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
        {"tool_choice": ToolChoice(), "parallel_tool_calls": False},
    ),
    (
        "disable_parallel_tool_use with any",
        {"tools": [WEATHER], "tool_choice": {"type": "any", "disable_parallel_tool_use": True}},
        {"tool_choice": ToolChoice(mode="required"), "parallel_tool_calls": False},
    ),
    (
        "thinking enabled with budget",
        {"max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 2048}},
        {"thinking": ThinkingConfig(mode="enabled", budget_tokens=2048)},
    ),
    ("thinking disabled", {"thinking": {"type": "disabled"}},
     {"thinking": ThinkingConfig(mode="disabled")}),
    ("thinking adaptive", {"thinking": {"type": "adaptive", "display": "summarized"}},
     {"thinking": ThinkingConfig(mode="adaptive")}),
    (
        "output_config: effort and json_schema format",
        {"output_config": {"effort": "high", "format": {"type": "json_schema", "schema": SCHEMA}}},
        {"effort": "high", "output_schema": SCHEMA},
    ),
    (
        "beta output_format",
        {"output_format": {"type": "json_schema", "schema": SCHEMA}},
        {"output_schema": SCHEMA},
    ),
    (
        "ignored: sampling, metadata, service tier and routing hints",
        {"temperature": 0.3, "top_p": 0.9, "top_k": 40, "metadata": {"user_id": "u-1"},
         "service_tier": "standard_only", "speed": "fast", "inference_geo": "us",
         "cache_control": {"type": "ephemeral", "ttl": "1h"},
         "diagnostics": {"previous_message_id": None}, "user_profile_id": "p",
         "workspace_id": "w", "some_future_field": {"x": 1}},
        {"model": DEFAULT_MODEL, "thinking": None, "effort": None},
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), [case[1:] for case in OPTIONS], ids=[case[0] for case in OPTIONS]
)
def test_options(body: dict[str, Any], expected: dict[str, Any]) -> None:
    turn = to_turn(body)
    for field, value in expected.items():
        assert getattr(turn, field) == value, field


def test_max_tokens_may_be_omitted() -> None:
    request = decode({"messages": [user("hi")]})
    turn = messages_request_to_turn(request, default_model=DEFAULT_MODEL, headers={}).turn
    assert turn.max_output_tokens is None


def test_claude_headers_fill_in_what_the_body_leaves_open() -> None:
    headers = {"x-claude-effort": "low", "x-claude-thinking": "adaptive", "x-claude-max-turns": "3"}
    turn = to_turn({}, headers)
    assert turn.effort == "low"
    assert turn.thinking == ThinkingConfig(mode="adaptive")
    assert turn.max_turns == 3
    body_wins = to_turn(
        {"thinking": {"type": "disabled"}, "output_config": {"effort": "max"}}, headers
    )
    assert body_wins.effort == "max"
    assert body_wins.thinking == ThinkingConfig(mode="disabled")


def test_anthropic_headers_are_ignored() -> None:
    plain = to_turn({})
    with_headers = to_turn(
        {}, {"anthropic-version": "2023-06-01", "anthropic-beta": "interleaved-thinking-2025-05-14"}
    )
    assert plain == with_headers


@pytest.mark.parametrize(
    ("thinking", "omitted"),
    [
        (None, False),
        ({"type": "enabled", "budget_tokens": 2048, "display": "omitted"}, True),
        ({"type": "adaptive", "display": "omitted"}, True),
        ({"type": "adaptive", "display": "summarized"}, False),
        ({"type": "disabled"}, False),
    ],
)
def test_thinking_display_omitted(thinking: dict[str, Any] | None, omitted: bool) -> None:
    body: dict[str, Any] = {"max_tokens": 4096, "messages": [user("hi")]}
    if thinking is not None:
        body["thinking"] = thinking
    assert thinking_omitted(decode(body).thinking) is omitted


# --------------------------------------------------------------------------------------
# Rejections: a 400 that names the field

REJECTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("max_tokens 0 (cache pre-warming)", {"max_tokens": 0}, "max_tokens"),
    ("temperature above 1", {"temperature": 1.5}, "temperature"),
    ("top_p above 1", {"top_p": 2}, "top_p"),
    ("negative top_k", {"top_k": -1}, "top_k"),
    ("trailing assistant message (prefill)", {"messages": [user("q"), assistant("The answer is")]},
     "messages"),
    ("no messages", {"messages": []}, "messages"),
    (
        "server tool in tools",
        {"tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]},
        "tools[0].type",
    ),
    (
        "Anthropic-defined client tool",
        {"tools": [WEATHER, {"type": "bash_20250124", "name": "bash"}]},
        "tools[1].type",
    ),
    ("custom tool without schema", {"tools": [{"name": "x"}]}, "tools[0].input_schema"),
    ("bad tool name", {"tools": [{"name": "a b", "input_schema": SCHEMA}]}, "tools[0].name"),
    ("duplicate tool", {"tools": [WEATHER, WEATHER]}, "tools[1].name"),
    ("mcp_servers", {"mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}]},
     "mcp_servers"),
    ("container", {"container": "container_1"}, "container"),
    ("context edit without a type", {"context_management": {"edits": [{}]}},
     "context_management.edits[0].type"),
    ("tool_choice any without tools", {"tool_choice": {"type": "any"}}, "tool_choice.type"),
    ("tool_choice unknown tool", {"tools": [WEATHER], "tool_choice": {"type": "tool",
                                                                      "name": "nope"}},
     "tool_choice.name"),
    ("thinking budget below 1024", {"thinking": {"type": "enabled", "budget_tokens": 100}},
     "thinking.budget_tokens"),
    ("thinking budget not below max_tokens",
     {"max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 2000}},
     "thinking.budget_tokens"),
    ("thinking between_tools", {"thinking": {"type": "between_tools"}}, "thinking.type"),
    ("both output formats", {"output_config": {"format": {"type": "json_schema", "schema": {}}},
                             "output_format": {"type": "json_schema", "schema": {}}},
     "output_format"),
    ("tool_use in a user message",
     {"messages": [user([{"type": "tool_use", "id": "t", "name": "x", "input": {}}])]},
     "messages[0].content[0]"),
    ("tool_result in an assistant message",
     {"messages": [user("a"), assistant([{"type": "tool_result", "tool_use_id": "t"}]),
                   user("b")]},
     "messages[1].content[0]"),
    ("thinking in a user message",
     {"messages": [user([{"type": "thinking", "thinking": "x", "signature": "s"}])]},
     "messages[0].content[0]"),
    ("server tool block in history",
     {"messages": [user("a"), assistant([{"type": "server_tool_use", "id": "s", "name":
                                          "web_search", "input": {}}]), user("b")]},
     "messages[1].content[0]"),
    ("search_result block", {"messages": [user([{"type": "search_result", "source": "s",
                                                 "title": "t", "content": []}])]},
     "messages[0].content[0]"),
    ("document inside a tool_result",
     {"messages": [user([{"type": "tool_result", "tool_use_id": "t", "content": [
         {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                         "data": "x"}}]}])]},
     "messages[0].content[0].content[0]"),
    ("image file source", {"messages": [user([{"type": "image", "source": {"type": "file",
                                                                            "file_id": "f"}}])]},
     "messages[0].content[0].source"),
    ("unsupported image type",
     {"messages": [user([{"type": "image", "source": {"type": "base64",
                                                      "media_type": "image/bmp", "data": PNG}}])]},
     "messages[0].content[0].source.media_type"),
    ("bad base64",
     {"messages": [user([{"type": "image", "source": {"type": "base64",
                                                      "media_type": "image/png",
                                                      "data": "not base64!"}}])]},
     "messages[0].content[0].source.data"),
    ("non-http image URL",
     {"messages": [user([{"type": "image", "source": {"type": "url", "url": "ftp://x"}}])]},
     "messages[0].content[0].source.url"),
    ("base64 document that is not a PDF",
     {"messages": [user([{"type": "document", "source": {"type": "base64",
                                                         "media_type": "text/html",
                                                         "data": PDF}}])]},
     "messages[0].content[0].source.media_type"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "param"), [case[1:] for case in REJECTIONS], ids=[case[0] for case in REJECTIONS]
)
def test_rejections_name_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        to_turn(body)
    assert caught.value.param == param
    assert caught.value.status == 400
    assert caught.value.message


def test_schema_violations_keep_the_path() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.messages\[0\]\.content"):
        decode({"messages": [user(5)]})
    with pytest.raises(msgspec.ValidationError, match=r"\$\.messages\[0\]\.role"):
        decode({"messages": [{"role": "wizard", "content": "x"}]})


# --------------------------------------------------------------------------------------
# count_tokens


def count_request(body: dict[str, Any]) -> Any:
    return COUNT_TOKENS_DECODER.decode(msgspec.json.encode(body))


def test_count_tokens_accepts_what_messages_accepts_and_a_prefill() -> None:
    check_count_tokens_request(
        count_request(
            {
                "model": "m",
                "system": [{"type": "text", "text": "s"}],
                "messages": [user("q"), assistant("The answer is")],
                "tools": [WEATHER],
                "tool_choice": {"type": "tool", "name": "get_weather"},
                "thinking": {"type": "enabled", "budget_tokens": 2048},
            }
        )
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [user("q")], "tools": [{"type": "web_search_20250305",
                                               "name": "web_search"}]}, "tools[0].type"),
        ({"messages": [user("q")], "mcp_servers": []}, "mcp_servers"),
        ({"messages": [user("q")], "tool_choice": {"type": "any"}}, "tool_choice.type"),
    ],
)  # fmt: skip
def test_count_tokens_rejections(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        check_count_tokens_request(count_request(body))
    assert caught.value.param == param


def test_count_tokens_payload_keeps_only_count_fields_as_sent() -> None:
    raw = msgspec.json.encode(
        {
            "messages": [
                user([{"type": "text", "text": "q", "cache_control": {"type": "ephemeral"}}])
            ],
            "system": "s",
            "max_tokens": 10,
            "stream": True,
            "metadata": {"user_id": "u"},
            "output_format": {"type": "json_schema", "schema": SCHEMA},
            "output_config": {"effort": "low"},
        }
    )
    payload = count_tokens_payload(raw, default_model=DEFAULT_MODEL)
    assert payload == {
        "model": DEFAULT_MODEL,
        "messages": [user([{"type": "text", "text": "q", "cache_control": {"type": "ephemeral"}}])],
        "system": "s",
        "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": SCHEMA}},
    }
    given = count_tokens_payload(
        msgspec.json.encode({"model": "claude-x", "messages": [user("q")]}),
        default_model=DEFAULT_MODEL,
    )
    assert given == {"model": "claude-x", "messages": [user("q")]}


@pytest.mark.parametrize(("stream", "streamed"), [(True, True), (False, False), (None, False)])
def test_the_turn_says_whether_the_client_streams(stream: bool | None, streamed: bool) -> None:
    body: dict[str, Any] = {} if stream is None else {"stream": stream}
    assert to_turn(body).streamed is streamed
