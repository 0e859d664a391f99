"""OpenAI Responses request -> Turn and response template, table-driven over request bodies."""

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
)
from wrapper.http.request import decode_json
from wrapper.schemas.openai_responses import REQUEST_DECODER
from wrapper.translate.openai_responses.reasoning_seal import seal
from wrapper.translate.openai_responses.request import (
    Prior,
    ResponsesPlan,
    responses_request_to_plan,
)

DEFAULT_MODEL = "claude-default"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}}


def plan_of(
    body: dict[str, Any], headers: dict[str, str] | None = None, prior: Prior | None = None
) -> ResponsesPlan:
    request = decode_json(msgspec.json.encode(body), REQUEST_DECODER)
    return responses_request_to_plan(
        request,
        response_id="resp_test",
        created_at=1700000000,
        default_model=DEFAULT_MODEL,
        headers=headers or {},
        prior=prior,
    )


def text(value: str) -> TextPart:
    return TextPart(text=value)


def um(*parts: Any) -> Message:
    return Message(role="user", content=tuple(parts))


def am(*parts: Any) -> Message:
    return Message(role="assistant", content=tuple(parts))


def fn(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "function", "name": name, "parameters": WEATHER, **extra}


# --------------------------------------------------------------------------------------
# input -> messages

MESSAGE_CASES: list[tuple[str, Any, tuple[Message, ...]]] = [
    ("string input", "Hello", (um(text("Hello")),)),
    ("easy message without type", [{"role": "user", "content": "Hi"}], (um(text("Hi")),)),
    (
        "typed message with input_text parts",
        [
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "a"},
                    {"type": "input_text", "text": "b"},
                ],
            }
        ],
        (um(text("a"), text("b")),),
    ),
    (
        "earlier turns alternate; replayed output_text is assistant text",
        [
            {"role": "user", "content": "My name is Ada"},
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Hi Ada", "annotations": []}],
            },
            {"role": "user", "content": "Name?"},
        ],
        (um(text("My name is Ada")), am(text("Hi Ada")), um(text("Name?"))),
    ),
    (
        "function call round trip: call -> tool_use, output -> tool_result first",
        [
            {"role": "user", "content": "Weather?"},
            {"type": "message", "role": "assistant", "content": "Let me check."},
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "toolu_1",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            },
            {
                "type": "function_call",
                "call_id": "toolu_2",
                "name": "get_weather",
                "arguments": "",
            },
            {"type": "function_call_output", "call_id": "toolu_1", "output": "21C"},
            {
                "type": "function_call_output",
                "call_id": "toolu_2",
                "output": [{"type": "input_text", "text": "18C"}],
            },
        ],
        (
            um(text("Weather?")),
            am(
                text("Let me check."),
                ToolUsePart(id="toolu_1", name="get_weather", input={"city": "Paris"}),
                ToolUsePart(id="toolu_2", name="get_weather", input={}),
            ),
            um(
                ToolResultPart(tool_use_id="toolu_1", content=(text("21C"),)),
                ToolResultPart(tool_use_id="toolu_2", content=(text("18C"),)),
            ),
        ),
    ),
    (
        "images and files",
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Look"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
                    {"type": "input_image", "image_url": "https://example.test/cat.png"},
                    {
                        "type": "input_file",
                        "filename": "a.pdf",
                        "file_data": f"data:application/pdf;base64,{PDF}",
                    },
                    {"type": "input_file", "file_url": "https://example.test/b.pdf"},
                ],
            }
        ],
        (
            um(
                text("Look"),
                ImagePart(media_type="image/png", data=PNG),
                ImagePart(url="https://example.test/cat.png"),
                DocumentPart(
                    source={"type": "base64", "media_type": "application/pdf", "data": PDF},
                    title="a.pdf",
                ),
                DocumentPart(source={"type": "url", "url": "https://example.test/b.pdf"}),
            ),
        ),
    ),
    (
        "sealed reasoning items become thinking blocks; unsealed ones are dropped",
        [
            {"role": "user", "content": "Q"},
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "hmm"}],
                "encrypted_content": seal(ThinkingPart(thinking="hmm", signature="sig")),
            },
            {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "opaque"},
            {
                "type": "reasoning",
                "id": "rs_3",
                "summary": [],
                "encrypted_content": seal(RedactedThinkingPart(data="xyz")),
            },
            {"role": "assistant", "content": "A"},
            {"role": "user", "content": "Q2"},
        ],
        (
            um(text("Q")),
            am(
                ThinkingPart(thinking="hmm", signature="sig"),
                RedactedThinkingPart(data="xyz"),
                text("A"),
            ),
            um(text("Q2")),
        ),
    ),
    (
        "a conversation starting with the assistant gets a placeholder user turn",
        [{"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Hi"}],
        (um(text("(conversation start)")), am(text("Hello!")), um(text("Hi"))),
    ),
]


@pytest.mark.parametrize(
    ("body_input", "expected"),
    [pytest.param(i, e, id=name) for name, i, e in MESSAGE_CASES],
)
def test_input_becomes_the_turns_messages(body_input: Any, expected: tuple[Message, ...]) -> None:
    assert plan_of({"model": "m", "input": body_input}).turn.messages == expected


def test_instructions_and_system_messages_become_the_system_prompt() -> None:
    plan = plan_of(
        {
            "instructions": "Be brief.",
            "input": [
                {"role": "system", "content": "You are a pirate."},
                {
                    "role": "developer",
                    "content": [{"type": "input_text", "text": "Say arr."}],
                },
                {"role": "user", "content": "Hi"},
            ],
        }
    )
    assert plan.turn.system == "Be brief.\n\nYou are a pirate.\n\nSay arr."
    assert plan.system_context == "You are a pirate.\n\nSay arr."
    assert plan.turn.messages == (um(text("Hi")),)
    assert plan.template.instructions == "Be brief."


def test_previous_response_continues_the_stored_conversation() -> None:
    prior = Prior(
        messages=(um(text("My name is Ada")), am(text("Hi Ada"))),
        system="Stored system.",
        model="claude-stored",
    )
    plan = plan_of({"input": "Name?", "instructions": "New rules."}, prior=prior)
    assert plan.turn.messages == (um(text("My name is Ada")), am(text("Hi Ada")), um(text("Name?")))
    # instructions are not carried over; system messages of the chain are.
    assert plan.turn.system == "New rules.\n\nStored system."
    assert plan.system_context == "Stored system."
    assert plan.turn.model == "claude-stored"
    assert plan_of({"input": "x", "model": "explicit"}, prior=prior).turn.model == "explicit"


def test_continuing_a_tool_call_with_its_output() -> None:
    call = ToolUsePart(id="toolu_9", name="get_weather", input={"city": "Oslo"})
    prior = Prior(messages=(um(text("Weather in Oslo?")), am(call)))
    plan = plan_of(
        {
            "input": [{"type": "function_call_output", "call_id": "toolu_9", "output": "-3C"}],
            "tools": [fn("get_weather")],
        },
        prior=prior,
    )
    assert plan.turn.messages[-2:] == (
        am(call),
        um(ToolResultPart(tool_use_id="toolu_9", content=(text("-3C"),))),
    )


# --------------------------------------------------------------------------------------
# options -> Turn fields

OPTION_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("defaults", {}, {}, {"model": DEFAULT_MODEL, "tools": (), "tool_choice": ToolChoice()}),
    (
        "function tools",
        {"tools": [fn("get_weather", description="Weather now", strict=True)]},
        {},
        {"tools": (ToolSpec(name="get_weather", description="Weather now", input_schema=WEATHER),)},
    ),
    (
        "a tool without parameters gets an empty object schema",
        {"tools": [{"type": "function", "name": "ping"}]},
        {},
        {
            "tools": (
                ToolSpec(
                    name="ping", description="", input_schema={"type": "object", "properties": {}}
                ),
            )
        },
    ),
    (
        "tool_choice none",
        {"tools": [fn("a")], "tool_choice": "none"},
        {},
        {"tool_choice": ToolChoice(mode="none")},
    ),
    (
        "tool_choice required",
        {"tools": [fn("a")], "tool_choice": "required"},
        {},
        {"tool_choice": ToolChoice(mode="required")},
    ),
    (
        "tool_choice names a function",
        {"tools": [fn("a"), fn("b")], "tool_choice": {"type": "function", "name": "b"}},
        {},
        {"tool_choice": ToolChoice(mode="tool", name="b")},
    ),
    (
        "allowed_tools keeps only the listed tools",
        {
            "tools": [fn("a"), fn("b")],
            "tool_choice": {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "b"}],
            },
        },
        {},
        {
            "tools": (ToolSpec(name="b", description="", input_schema=WEATHER),),
            "tool_choice": ToolChoice(mode="required"),
        },
    ),
    (
        "parallel_tool_calls false",
        {"parallel_tool_calls": False},
        {},
        {"parallel_tool_calls": False},
    ),
    (
        "json_schema format",
        {"text": {"format": {"type": "json_schema", "name": "w", "schema": WEATHER}}},
        {},
        {"output_schema": WEATHER, "json_object": False},
    ),
    (
        "json_object format",
        {"text": {"format": {"type": "json_object"}}},
        {},
        {"output_schema": {"type": "object"}, "json_object": True},
    ),
    ("text format", {"text": {"format": {"type": "text"}}}, {}, {"output_schema": None}),
    ("max_output_tokens", {"max_output_tokens": 77}, {}, {"max_output_tokens": 77}),
    ("reasoning effort high", {"reasoning": {"effort": "high"}}, {}, {"effort": "high"}),
    ("reasoning effort max", {"reasoning": {"effort": "max"}}, {}, {"effort": "max"}),
    (
        "reasoning effort minimal is low effort without thinking",
        {"reasoning": {"effort": "minimal"}},
        {},
        {"effort": "low", "thinking": ThinkingConfig(mode="disabled")},
    ),
    (
        "reasoning effort none disables thinking",
        {"reasoning": {"effort": "none"}},
        {},
        {"effort": None, "thinking": ThinkingConfig(mode="disabled")},
    ),
    (
        "X-Claude-* headers win over reasoning.effort",
        {"reasoning": {"effort": "low"}},
        {"x-claude-effort": "max", "x-claude-thinking": "adaptive", "x-claude-max-turns": "3"},
        {"effort": "max", "thinking": ThinkingConfig(mode="adaptive"), "max_turns": 3},
    ),
    (
        "ignored knobs change nothing",
        {
            "temperature": 0.2,
            "top_p": 0.5,
            "user": "u",
            "safety_identifier": "s",
            "prompt_cache_key": "k",
            "service_tier": "flex",
            "truncation": "auto",
            "max_tool_calls": 3,
            "stream_options": {"include_obfuscation": False},
            "include": ["file_search_call.results"],
            "context_management": [{"type": "compaction"}],
        },
        {},
        {"model": DEFAULT_MODEL, "max_output_tokens": None},
    ),
]


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [pytest.param(b, h, e, id=name) for name, b, h, e in OPTION_CASES],
)
def test_options_map_onto_the_turn(
    body: dict[str, Any], headers: dict[str, str], expected: dict[str, Any]
) -> None:
    turn = plan_of({"input": "hi", **body}, headers).turn
    for field, value in expected.items():
        assert getattr(turn, field) == value, field


def test_the_template_echoes_the_request() -> None:
    plan = plan_of(
        {
            "model": "claude-x",
            "input": "hi",
            "instructions": "I",
            "tools": [fn("a", strict=True)],
            "tool_choice": {"type": "function", "name": "a"},
            "text": {"format": {"type": "json_schema", "name": "w", "schema": WEATHER}},
            "reasoning": {"effort": "low", "summary": "auto"},
            "max_output_tokens": 50,
            "temperature": 0.3,
            "top_p": 0.9,
            "metadata": {"k": "v"},
            "store": False,
            "previous_response_id": None,
            "user": "u1",
            "truncation": "auto",
        }
    )
    template = msgspec.to_builtins(plan.template)
    assert template["id"] == "resp_test"
    assert template["object"] == "response"
    assert template["created_at"] == 1700000000
    assert template["status"] == "in_progress"
    assert template["model"] == "claude-x"
    assert template["tools"] == [
        {
            "type": "function",
            "name": "a",
            "parameters": WEATHER,
            "strict": True,
            "description": None,
        }
    ]
    assert template["tool_choice"] == {"type": "function", "name": "a"}
    assert template["text"]["format"]["type"] == "json_schema"
    assert template["reasoning"] == {"effort": "low", "summary": "auto"}
    assert (template["max_output_tokens"], template["temperature"], template["top_p"]) == (
        50,
        0.3,
        0.9,
    )
    assert template["metadata"] == {"k": "v"}
    assert template["store"] is False
    assert plan.store is False
    assert template["truncation"] == "auto"
    assert template["user"] == "u1"


def test_store_defaults_to_true_and_encrypted_reasoning_is_opt_in() -> None:
    plan = plan_of({"input": "hi"})
    assert plan.store is True
    assert plan.seal_reasoning is False
    assert plan_of({"input": "hi", "include": ["reasoning.encrypted_content"]}).seal_reasoning


# --------------------------------------------------------------------------------------
# rejected requests: a 400 naming the field

ERROR_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("no input", {}, "input"),
    ("empty input list", {"input": []}, "input"),
    ("trailing assistant message", {"input": [{"role": "assistant", "content": "x"}]}, "input"),
    ("unknown role", {"input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
    ("bad content type", {"input": [{"role": "user", "content": 5}]}, "input[0].content"),
    (
        "unknown part type",
        {"input": [{"role": "user", "content": [{"type": "input_audio", "data": "x"}]}]},
        "input[0].content[0].type",
    ),
    ("unsupported item type", {"input": [{"type": "web_search_call"}]}, "input[0].type"),
    (
        "unknown item reference",
        {"input": [{"type": "item_reference", "id": "msg_1"}]},
        "input[0].id",
    ),
    (
        "function call missing call_id",
        {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
        "input[0]",
    ),
    (
        "function call arguments not JSON",
        {
            "input": [
                {"role": "user", "content": "x"},
                {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{nope"},
            ]
        },
        "input[1].arguments",
    ),
    (
        "image by file_id",
        {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]},
        "input[0].content[0]",
    ),
    (
        "file by file_id",
        {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]}]},
        "input[0].content[0]",
    ),
    (
        "unsupported image type",
        {
            "input": [
                {
                    "role": "user",
                    "content": [{"type": "input_image", "image_url": "data:image/bmp;base64,AA=="}],
                }
            ]
        },
        "input[0].content[0].image_url",
    ),
    (
        "image in a system message",
        {
            "input": [
                {
                    "role": "system",
                    "content": [{"type": "input_image", "image_url": "https://x.test/a.png"}],
                },
                {"role": "user", "content": "x"},
            ]
        },
        "input[0].content[0]",
    ),
    (
        "file in a function call output",
        {
            "input": [
                {"role": "user", "content": "x"},
                {
                    "type": "function_call_output",
                    "call_id": "c",
                    "output": [{"type": "input_file", "file_data": PDF}],
                },
            ]
        },
        "input[1].output[0]",
    ),
    (
        "function tool without a name",
        {"input": "x", "tools": [{"type": "function"}]},
        "tools[0].name",
    ),
    (
        "duplicate tool names",
        {"input": "x", "tools": [fn("a"), fn("a")]},
        "tools[1].name",
    ),
    ("required without tools", {"input": "x", "tool_choice": "required"}, "tool_choice"),
    (
        "tool_choice names an unknown tool",
        {"input": "x", "tools": [fn("a")], "tool_choice": {"type": "function", "name": "b"}},
        "tool_choice.name",
    ),
    (
        "tool_choice of a hosted type",
        {"input": "x", "tools": [fn("a")], "tool_choice": {"type": "file_search"}},
        "tool_choice.type",
    ),
    (
        "allowed_tools names an unknown tool",
        {
            "input": "x",
            "tools": [fn("a")],
            "tool_choice": {
                "type": "allowed_tools",
                "mode": "auto",
                "tools": [{"type": "function", "name": "zzz"}],
            },
        },
        "tool_choice.tools",
    ),
    (
        "json_schema without a schema",
        {"input": "x", "text": {"format": {"type": "json_schema", "name": "w"}}},
        "text.format",
    ),
    (
        "bad reasoning effort",
        {"input": "x", "reasoning": {"effort": "extreme"}},
        "reasoning.effort",
    ),
    ("temperature out of range", {"input": "x", "temperature": 3}, "temperature"),
    ("top_p out of range", {"input": "x", "top_p": 1.5}, "top_p"),
    ("max_output_tokens below 1", {"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
    ("background", {"input": "x", "background": True}, "background"),
    ("conversation", {"input": "x", "conversation": "conv_1"}, "conversation"),
    ("prompt template", {"input": "x", "prompt": {"id": "pmpt_1"}}, "prompt"),
    ("top_logprobs", {"input": "x", "top_logprobs": 3}, "top_logprobs"),
    ("logprobs include", {"input": "x", "include": ["message.output_text.logprobs"]}, "include"),
    (
        "too much metadata",
        {"input": "x", "metadata": {f"k{i}": "v" for i in range(17)}},
        "metadata",
    ),
    ("bad header", {"input": "x"}, "x-claude-effort"),
]


@pytest.mark.parametrize(
    ("body", "param"), [pytest.param(b, p, id=name) for name, b, p in ERROR_CASES]
)
def test_invalid_requests_are_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    headers = {"x-claude-effort": "ultra"} if param == "x-claude-effort" else {}
    with pytest.raises(InvalidRequestError) as caught:
        plan_of(body, headers)
    assert caught.value.status == 400
    assert caught.value.param == param
    assert caught.value.message


def test_item_errors_keep_the_full_path_in_the_message() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        plan_of({"input": [{"role": "user", "content": "ok"}, {"role": "user", "content": 5}]})
    assert "`$.input[1].content`" in caught.value.message


@pytest.mark.parametrize(("stream", "streamed"), [(True, True), (False, False), (None, False)])
def test_the_turn_says_whether_the_client_streams(stream: bool | None, streamed: bool) -> None:
    body: dict[str, Any] = {"input": "hi"} if stream is None else {"input": "hi", "stream": stream}
    assert plan_of(body).turn.streamed is streamed
