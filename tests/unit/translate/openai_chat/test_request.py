"""OpenAI chat request -> Turn, table-driven over request bodies as clients send them."""

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
    TextPart,
    ThinkingConfig,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    Turn,
)
from wrapper.schemas.openai_chat import REQUEST_DECODER
from wrapper.translate.openai_chat.request import chat_request_to_turn

DEFAULT_MODEL = "claude-default"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()


def to_turn(
    body: dict[str, Any], headers: dict[str, str] | None = None, *, allow: bool = False
) -> Turn:
    request = REQUEST_DECODER.decode(msgspec.json.encode(body))
    return chat_request_to_turn(
        request, default_model=DEFAULT_MODEL, headers=headers or {}, allow_server_tools=allow
    )


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def text(value: str) -> TextPart:
    return TextPart(text=value)


def um(*parts: Any) -> Message:
    return Message(role="user", content=tuple(parts))


def am(*parts: Any) -> Message:
    return Message(role="assistant", content=tuple(parts))


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# --------------------------------------------------------------------------------------
# Conversation shape

CONVERSATIONS: list[tuple[str, list[dict[str, Any]], str | None, tuple[Message, ...]]] = [
    (
        "plain user text",
        [user("hi")],
        None,
        (um(text("hi")),),
    ),
    (
        "system and developer joined into the system prompt",
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use French."},
                                              {"type": "text", "text": "No emoji."}]},
            user("hi"),
            {"role": "system", "content": "Late rule."},
        ],
        "Be brief.\n\nUse French.\nNo emoji.\n\nLate rule.",
        (um(text("hi")),),
    ),
    (
        "empty system messages are dropped",
        [{"role": "system", "content": ""}, user("hi")],
        None,
        (um(text("hi")),),
    ),
    (
        "earlier turns are kept in order",
        [user("a"), {"role": "assistant", "content": "b"}, user("c")],
        None,
        (um(text("a")), am(text("b")), um(text("c"))),
    ),
    (
        "consecutive user messages merge",
        [user("a"), user([{"type": "text", "text": "b"}])],
        None,
        (um(text("a"), text("b")),),
    ),
    (
        "a conversation starting with the assistant gets a placeholder user turn",
        [{"role": "assistant", "content": "hello"}, user("hi")],
        None,
        (um(text("(conversation start)")), am(text("hello")), um(text("hi"))),
    ),
    (
        "tool results merge into the next user turn, results first",
        [
            user("weather?"),
            {"role": "assistant", "content": None,
             "tool_calls": [call("call_1", "get", '{"city": "Paris"}'), call("call_2", "get", "")]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2",
             "content": [{"type": "text", "text": "rain"}]},
            user("thanks"),
        ],
        None,
        (
            um(text("weather?")),
            am(ToolUsePart(id="call_1", name="get", input={"city": "Paris"}),
               ToolUsePart(id="call_2", name="get", input={})),
            um(ToolResultPart(tool_use_id="call_1", content=(text("sunny"),)),
               ToolResultPart(tool_use_id="call_2", content=(text("rain"),)),
               text("thanks")),
        ),
    ),
    (
        "a turn may end with tool results",
        [
            user("go"),
            {"role": "assistant", "content": "calling", "tool_calls": [call("c1", "run", "{}")]},
            {"role": "tool", "tool_call_id": "c1", "content": ""},
        ],
        None,
        (
            um(text("go")),
            am(text("calling"), ToolUsePart(id="c1", name="run", input={})),
            um(ToolResultPart(tool_use_id="c1")),
        ),
    ),
    (
        "legacy function_call and function messages",
        [
            user("go"),
            {"role": "assistant", "content": None,
             "function_call": {"name": "run", "arguments": '{"x": 1}'}},
            {"role": "function", "name": "run", "content": "done"},
        ],
        None,
        (
            um(text("go")),
            am(ToolUsePart(id="call_legacy_0", name="run", input={"x": 1})),
            um(ToolResultPart(tool_use_id="call_legacy_0", content=(text("done"),))),
        ),
    ),
    (
        "assistant refusal becomes text",
        [user("a"), {"role": "assistant", "refusal": "I can't."}, user("ok")],
        None,
        (um(text("a")), am(text("I can't.")), um(text("ok"))),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("messages", "system", "expected"),
    [case[1:] for case in CONVERSATIONS],
    ids=[case[0] for case in CONVERSATIONS],
)
def test_conversation(
    messages: list[dict[str, Any]], system: str | None, expected: tuple[Message, ...]
) -> None:
    turn = to_turn({"model": "m", "messages": messages})
    assert turn.system == system
    assert turn.messages == expected


# --------------------------------------------------------------------------------------
# Content parts


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"data:image/png;base64,{PNG}", ImagePart(media_type="image/png", data=PNG)),
        (f"data:image/jpg;base64,{PNG}", ImagePart(media_type="image/jpeg", data=PNG)),
        (f"data:IMAGE/WEBP;base64,{PNG}", ImagePart(media_type="image/webp", data=PNG)),
        ("https://example.com/cat.png", ImagePart(url="https://example.com/cat.png")),
        ("http://example.com/cat.gif", ImagePart(url="http://example.com/cat.gif")),
    ],
)
def test_images(url: str, expected: ImagePart) -> None:
    turn = to_turn(
        {
            "messages": [
                user(
                    [
                        {"type": "text", "text": "what?"},
                        {"type": "image_url", "image_url": {"url": url, "detail": "high"}},
                    ]
                )
            ]
        }
    )
    assert turn.messages == (um(text("what?"), expected),)


def test_files_become_documents() -> None:
    plain = base64.b64encode(b"hello file").decode()
    turn = to_turn(
        {
            "messages": [
                user(
                    [
                        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}",
                                                  "filename": "a.pdf"}},
                        {"type": "file", "file": {"file_data": PDF}},
                        {"type": "file", "file": {"file_data": f"data:text/plain;base64,{plain}"}},
                    ]
                )
            ]
        }
    )  # fmt: skip
    assert turn.messages[0].content == (
        DocumentPart(
            source={"type": "base64", "media_type": "application/pdf", "data": PDF}, title="a.pdf"
        ),
        DocumentPart(source={"type": "base64", "media_type": "application/pdf", "data": PDF}),
        DocumentPart(source={"type": "text", "media_type": "text/plain", "data": "hello file"}),
    )


# --------------------------------------------------------------------------------------
# Refusals (400 naming the field)

REJECTED: list[tuple[str, dict[str, Any], str]] = [
    ("unsupported image type", {"messages": [user([{"type": "image_url", "image_url": {
        "url": f"data:image/bmp;base64,{PNG}"}}])]}, "messages[0].content[0].image_url.url"),
    ("image data that is not base64", {"messages": [user([{"type": "image_url", "image_url": {
        "url": "data:image/png;base64,!!!"}}])]}, "messages[0].content[0].image_url.url"),
    ("image URL with another scheme", {"messages": [user([{"type": "image_url", "image_url": {
        "url": "ftp://example.com/a.png"}}])]}, "messages[0].content[0].image_url.url"),
    ("unsupported file type", {"messages": [user([{"type": "file", "file": {
        "file_data": f"data:application/zip;base64,{PDF}"}}])]},
     "messages[0].content[0].file.file_data"),
    ("file by id", {"messages": [user([{"type": "file", "file": {"file_id": "file-1"}}])]},
     "messages[0].content[0].file"),
    ("audio input", {"messages": [user([{"type": "input_audio", "input_audio": {
        "data": "AAAA", "format": "wav"}}])]}, "messages[0].content[0]"),
    ("refusal part in a user message", {"messages": [user([{"type": "refusal",
                                                           "refusal": "no"}])]},
     "messages[0].content[0]"),
    ("image in a system message", {"messages": [{"role": "system", "content": [
        {"type": "text", "text": "a"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}, user("hi")]},
     "messages[0].content[1]"),
    ("image in an assistant message", {"messages": [user("a"), {"role": "assistant", "content": [
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}, user("b")]},
     "messages[1].content[0]"),
    ("tool call arguments that are not JSON", {"messages": [user("a"), {
        "role": "assistant", "tool_calls": [call("c", "f", "{oops")]}, user("b")]},
     "messages[1].tool_calls[0].function.arguments"),
    ("tool call arguments that are not an object", {"messages": [user("a"), {
        "role": "assistant", "tool_calls": [call("c", "f", "[1]")]}, user("b")]},
     "messages[1].tool_calls[0].function.arguments"),
    ("function message with no function_call before it", {"messages": [
        {"role": "function", "name": "f", "content": "x"}]}, "messages[0]"),
    ("no messages", {"messages": []}, "messages"),
    ("only a system message", {"messages": [{"role": "system", "content": "s"}]}, "messages"),
    ("a trailing assistant message", {"messages": [user("a"), {"role": "assistant",
                                                               "content": "b"}]}, "messages"),
    ("logprobs", {"messages": [user("a")], "logprobs": True}, "logprobs"),
    ("top_logprobs", {"messages": [user("a")], "top_logprobs": 2}, "top_logprobs"),
    ("audio output modality", {"messages": [user("a")], "modalities": ["text", "audio"]},
     "modalities"),
    ("audio output", {"messages": [user("a")], "audio": {"voice": "x"}}, "audio"),
    ("n of zero", {"messages": [user("a")], "n": 0}, "n"),
    ("n above 8", {"messages": [user("a")], "n": 9}, "n"),
    ("max_tokens of zero", {"messages": [user("a")], "max_tokens": 0}, "max_tokens"),
    ("max_completion_tokens below one", {"messages": [user("a")], "max_completion_tokens": -5},
     "max_completion_tokens"),
    ("five stop sequences", {"messages": [user("a")], "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ("enable_tools when the operator did not allow it",
     {"messages": [user("a")], "enable_tools": True}, "enable_tools"),
    ("json_schema without a schema", {"messages": [user("a")], "response_format": {
        "type": "json_schema", "json_schema": {"name": "x"}}}, "response_format.json_schema"),
    ("tool_choice required without tools", {"messages": [user("a")], "tool_choice": "required"},
     "tool_choice"),
    ("tool_choice naming an unknown tool", {"messages": [user("a")], "tools": [
        {"type": "function", "function": {"name": "f"}}],
        "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice"),
    ("tools and functions together", {"messages": [user("a")],
     "tools": [{"type": "function", "function": {"name": "f"}}],
     "functions": [{"name": "g"}]}, "functions"),
    ("an invalid tool name", {"messages": [user("a")], "tools": [
        {"type": "function", "function": {"name": "has space"}}]}, "tools[0].name"),
    ("a duplicated tool name", {"messages": [user("a")], "tools": [
        {"type": "function", "function": {"name": "f"}},
        {"type": "function", "function": {"name": "f"}}]}, "tools[1].name"),
    ("a reserved tool name", {"messages": [user("a")], "functions": [
        {"name": "StructuredOutput"}]}, "functions[0].name"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "param"), [case[1:] for case in REJECTED], ids=[case[0] for case in REJECTED]
)
def test_rejected_with_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        to_turn(body)
    assert caught.value.status == 400
    assert caught.value.param == param


# --------------------------------------------------------------------------------------
# Options


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        (None, ()),
        ("END", ("END",)),
        (["a", "", "b"], ("a", "b")),
        (["1", "2", "3", "4"], ("1", "2", "3", "4")),
        ([], ()),
    ],
)
def test_stop_sequences(stop: Any, expected: tuple[str, ...]) -> None:
    body: dict[str, Any] = {"messages": [user("a")]}
    if stop is not None:
        body["stop"] = stop
    assert to_turn(body).stop_sequences == expected


@pytest.mark.parametrize(
    ("reasoning_effort", "headers", "effort", "thinking"),
    [
        (None, {}, None, None),
        ("low", {}, "low", None),
        ("medium", {}, "medium", None),
        ("high", {}, "high", None),
        ("xhigh", {}, "xhigh", None),
        ("max", {}, "max", None),
        ("minimal", {}, "low", ThinkingConfig(mode="disabled")),
        ("none", {}, None, ThinkingConfig(mode="disabled")),
        # The header wins over the body field.
        ("low", {"x-claude-effort": "max"}, "max", None),
        ("minimal", {"x-claude-thinking": "adaptive"}, "low", ThinkingConfig(mode="adaptive")),
    ],
)
def test_reasoning_effort(
    reasoning_effort: str | None,
    headers: dict[str, str],
    effort: str | None,
    thinking: ThinkingConfig | None,
) -> None:
    body: dict[str, Any] = {"messages": [user("a")]}
    if reasoning_effort is not None:
        body["reasoning_effort"] = reasoning_effort
    turn = to_turn(body, headers)
    assert turn.effort == effort
    assert turn.thinking == thinking


@pytest.mark.parametrize(
    ("headers", "field", "value"),
    [
        ({"x-claude-effort": "HIGH"}, "effort", "high"),
        ({"x-claude-effort": "max"}, "effort", "max"),
        ({"x-claude-thinking": "adaptive"}, "thinking", ThinkingConfig(mode="adaptive")),
        ({"x-claude-thinking": "disabled"}, "thinking", ThinkingConfig(mode="disabled")),
        ({"x-claude-thinking": "enabled"}, "thinking",
         ThinkingConfig(mode="enabled", budget_tokens=8000)),
        ({"x-claude-thinking": "enabled", "x-claude-max-thinking-tokens": "2048"}, "thinking",
         ThinkingConfig(mode="enabled", budget_tokens=2048)),
        ({"x-claude-max-thinking-tokens": "4096"}, "thinking",
         ThinkingConfig(mode="enabled", budget_tokens=4096)),
        ({"x-claude-thinking": "adaptive", "x-claude-max-thinking-tokens": "4096"}, "thinking",
         ThinkingConfig(mode="adaptive")),
        ({"x-claude-max-turns": "5"}, "max_turns", 5),
        ({"x-claude-max-turns": " "}, "max_turns", None),
        ({"x-session-id": "sess-1"}, "session_id", "sess-1"),
    ],
)  # fmt: skip
def test_claude_headers(headers: dict[str, str], field: str, value: object) -> None:
    assert getattr(to_turn({"messages": [user("a")]}, headers), field) == value


@pytest.mark.parametrize(
    "headers",
    [
        {"x-claude-effort": "extreme"},
        {"x-claude-thinking": "on"},
        {"x-claude-max-thinking-tokens": "lots"},
        {"x-claude-max-thinking-tokens": "0"},
        {"x-claude-max-turns": "-1"},
    ],
)
def test_bad_claude_headers_are_400_naming_the_header(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        to_turn({"messages": [user("a")]}, headers)
    assert caught.value.param == next(iter(headers))


def test_body_session_id_wins_over_the_header() -> None:
    turn = to_turn({"messages": [user("a")], "session_id": "body"}, {"x-session-id": "header"})
    assert turn.session_id == "body"


def test_model_defaults_and_passes_through() -> None:
    assert to_turn({"messages": [user("a")]}).model == DEFAULT_MODEL
    assert to_turn({"model": "claude-opus-4-7", "messages": [user("a")]}).model == (
        "claude-opus-4-7"
    )


@pytest.mark.parametrize(
    ("limits", "expected"),
    [({}, None), ({"max_tokens": 50}, 50), ({"max_tokens": 50, "max_completion_tokens": 20}, 20)],
)
def test_max_output_tokens_is_the_smaller_limit(
    limits: dict[str, int], expected: int | None
) -> None:
    assert to_turn({"messages": [user("a")], **limits}).max_output_tokens == expected


def test_enable_tools_when_allowed() -> None:
    assert to_turn({"messages": [user("a")], "enable_tools": True}, allow=True).server_tools
    assert not to_turn({"messages": [user("a")], "enable_tools": False}).server_tools


def test_ignored_fields_are_accepted() -> None:
    turn = to_turn(
        {
            "messages": [user("a")],
            "temperature": 0.2,
            "top_p": 0.9,
            "presence_penalty": 1,
            "frequency_penalty": 1,
            "logit_bias": {"50256": -100},
            "seed": 7,
            "user": "u",
            "metadata": {"k": "v"},
            "store": False,
            "service_tier": "auto",
            "logprobs": False,
            "modalities": ["text"],
            "prediction": {"type": "content", "content": "x"},
            "verbosity": "low",
            "prompt_cache_key": "k",
            "safety_identifier": "s",
            "web_search_options": {},
            "something_unknown": 1,
        }
    )
    assert turn.messages == (um(text("a")),)


def test_tools_and_tool_choice() -> None:
    tools = [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                          "parameters": {"type": "object", "properties": {
                                              "city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "noop"}},
    ]  # fmt: skip
    turn = to_turn(
        {
            "messages": [user("a")],
            "tools": tools,
            "tool_choice": {"type": "function", "function": {"name": "noop"}},
            "parallel_tool_calls": False,
        }
    )
    assert turn.tools == (
        ToolSpec(
            name="get_weather",
            description="Weather",
            input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
        ),
        ToolSpec(name="noop", description="", input_schema={"type": "object", "properties": {}}),
    )
    assert turn.tool_choice == ToolChoice(mode="tool", name="noop")
    assert turn.parallel_tool_calls is False
    for choice, expected in (
        ("auto", ToolChoice()),
        ("none", ToolChoice(mode="none")),
        ("required", ToolChoice(mode="required")),
    ):
        assert (
            to_turn({"messages": [user("a")], "tools": tools, "tool_choice": choice}).tool_choice
            == expected
        )


def test_legacy_functions_and_function_call() -> None:
    turn = to_turn(
        {"messages": [user("a")], "functions": [{"name": "f"}], "function_call": {"name": "f"}}
    )
    assert [tool.name for tool in turn.tools] == ["f"]
    assert turn.tool_choice == ToolChoice(mode="tool", name="f")


@pytest.mark.parametrize(
    ("response_format", "schema", "json_object"),
    [
        (None, None, False),
        ({"type": "text"}, None, False),
        ({"type": "json_object"}, {"type": "object"}, True),
        (
            {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "array"}}},
            {"type": "array"},
            False,
        ),
    ],
)
def test_response_format(
    response_format: dict[str, Any] | None, schema: dict[str, Any] | None, json_object: bool
) -> None:
    body: dict[str, Any] = {"messages": [user("a")]}
    if response_format is not None:
        body["response_format"] = response_format
    turn = to_turn(body)
    assert turn.output_schema == schema
    assert turn.json_object is json_object


@pytest.mark.parametrize(("stream", "streamed"), [(True, True), (False, False), (None, False)])
def test_the_turn_says_whether_the_client_streams(stream: bool | None, streamed: bool) -> None:
    body: dict[str, Any] = {"model": "m", "messages": [user("hi")]}
    if stream is not None:
        body["stream"] = stream
    assert to_turn(body).streamed is streamed
