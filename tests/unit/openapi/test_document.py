"""The OpenAPI generator on small route tables: valid documents, security, SSE, errors."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from openapi_spec_validator import validate

from wrapper.http.request import Request
from wrapper.http.responses import Response, json_response
from wrapper.http.routing import Doc, Route
from wrapper.openapi import OPENAPI_VERSION, UndocumentedRouteError, openapi_document
from wrapper.schemas import anthropic_output, openai_chat


class Thing(msgspec.Struct):
    name: str
    size: int | None = None


class ThingQuery(msgspec.Struct, kw_only=True):
    name: str
    stream: bool = False


async def _handler(request: Request) -> Response:
    return json_response({})


def _document(*routes: Route) -> dict[str, Any]:
    document = openapi_document(routes, title="test", version="1.2.3")
    validate(document)
    return document


def test_a_documented_table_is_a_valid_openapi_31_document() -> None:
    document = _document(
        Route(
            "GET",
            "/things/{thing_id}",
            _handler,
            name="things.get",
            doc=Doc("One thing", response=Thing),
        ),
        Route(
            "POST",
            "/things",
            _handler,
            name="things.create",
            doc=Doc("Make a thing", body=ThingQuery, response=Thing, example={"name": "x"}),
        ),
    )
    assert document["openapi"] == OPENAPI_VERSION == "3.1.0"
    assert document["info"]["version"] == "1.2.3"
    get = document["paths"]["/things/{thing_id}"]["get"]
    assert get["parameters"] == [
        {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    ok = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Thing"}
    thing = document["components"]["schemas"]["Thing"]
    assert thing["required"] == ["name"]
    post = document["paths"]["/things"]["post"]
    body = post["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ThingQuery"}
    assert body["example"] == {"name": "x"}


def test_a_route_without_a_doc_is_refused() -> None:
    with pytest.raises(UndocumentedRouteError, match="GET /bare"):
        openapi_document([Route("GET", "/bare", _handler, name="bare")], title="test", version="0")


def test_security_is_explicit_on_every_operation() -> None:
    document = _document(
        Route("GET", "/open", _handler, name="open", auth=False, doc=Doc("Open")),
        Route("GET", "/v1/closed", _handler, name="closed", doc=Doc("Closed", response=Thing)),
    )
    assert document["paths"]["/open"]["get"]["security"] == []
    closed = document["paths"]["/v1/closed"]["get"]
    assert closed["security"] == [{"bearerAuth": []}, {"apiKeyHeader": []}]
    assert "401" in closed["responses"]
    assert "401" not in document["paths"]["/open"]["get"]["responses"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["apiKeyHeader"] == {
        **schemes["apiKeyHeader"],
        "in": "header",
        "name": "x-api-key",
    }


def test_errors_use_the_envelope_of_the_route_dialect() -> None:
    document = _document(
        Route("GET", "/v1/a", _handler, name="a", doc=Doc("A", response=Thing)),
        Route("GET", "/v1/b", _handler, name="b", dialect="anthropic", doc=Doc("B")),
    )
    a = document["paths"]["/v1/a"]["get"]["responses"]
    b = document["paths"]["/v1/b"]["get"]["responses"]
    assert a["4XX"] == a["5XX"] == {"$ref": "#/components/responses/OpenAIError"}
    assert b["4XX"] == b["5XX"] == {"$ref": "#/components/responses/AnthropicError"}
    anthropic = document["components"]["responses"]["AnthropicError"]
    schema = anthropic["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/AnthropicError"}


def test_a_chat_stream_is_data_lines_ending_with_done() -> None:
    document = _document(
        Route(
            "POST",
            "/v1/chat/completions",
            _handler,
            name="chat",
            doc=Doc(
                "Chat",
                body=openai_chat.ChatCompletionRequest,
                response=openai_chat.ChatCompletion,
                stream=openai_chat.ChatCompletionChunk,
            ),
        ),
    )
    content = document["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/event-stream"}
    sse = content["text/event-stream"]
    assert sse["x-sse-terminator"] == "[DONE]"
    assert {"$ref": "#/components/schemas/ChatCompletionChunk"} in sse["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/OpenAIError"} in sse["schema"]["anyOf"]


def test_a_named_event_stream_lists_every_event_name_and_its_error() -> None:
    document = _document(
        Route(
            "POST",
            "/v1/messages",
            _handler,
            name="messages",
            dialect="anthropic",
            doc=Doc(
                "Messages", response=anthropic_output.Message, stream=anthropic_output.StreamEvent
            ),
        ),
    )
    sse = document["paths"]["/v1/messages"]["post"]["responses"]["200"]["content"][
        "text/event-stream"
    ]
    assert sse["x-sse-events"] == sorted(
        [
            "content_block_delta",
            "content_block_start",
            "content_block_stop",
            "error",
            "message_delta",
            "message_start",
            "message_stop",
            "ping",
        ]
    )
    mapping = sse["schema"]["discriminator"]["mapping"]
    assert mapping["error"] == "#/components/schemas/AnthropicError"


def test_other_statuses_text_bodies_query_and_head() -> None:
    document = _document(
        Route(
            "GET",
            "/",
            _handler,
            name="page",
            auth=False,
            doc=Doc("Page", media_type="text/html", head=True),
        ),
        Route(
            "GET",
            "/ready",
            _handler,
            name="ready",
            doc=Doc("Ready", response=Thing, statuses={503: Thing}, query={"verbose": "say more"}),
        ),
    )
    page = document["paths"]["/"]
    assert page["get"]["responses"]["200"]["content"] == {
        "text/html": {"schema": {"type": "string"}}
    }
    assert page["head"]["operationId"] == "page.head"
    assert "content" not in page["head"]["responses"]["200"]
    ready = document["paths"]["/ready"]["get"]
    assert ready["responses"]["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"
    }
    assert ready["parameters"][0]["name"] == "verbose"
    assert ready["parameters"][0]["in"] == "query"


def test_an_admin_only_route_is_marked_and_documents_its_403() -> None:
    document = _document(
        Route("POST", "/wipe", _handler, name="wipe", admin=True, doc=Doc("Wipe")),
        Route("GET", "/look", _handler, name="look", doc=Doc("Look")),
    )
    wipe = document["paths"]["/wipe"]["post"]
    look = document["paths"]["/look"]["get"]
    assert wipe["x-admin-only"] is True
    assert "403" in wipe["responses"]
    assert "x-admin-only" not in look
    assert "403" not in look["responses"]
