"""The OpenAPI 3.1 document, generated from the route table.

Every :class:`~wrapper.http.routing.Route` carries a :class:`~wrapper.http.routing.Doc`
naming the msgspec types its handler decodes and returns; this module turns those
types into JSON Schema components with :func:`msgspec.json.schema_components` (the
same types the decoders and encoders use, so the document cannot drift from the
wire) and writes one operation per route: its parameters, request body, 200 body
(JSON and, for streaming routes, the SSE events), the error envelope of the route's
dialect, and its security (the API key, or explicitly none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from wrapper.http.routing import Doc, Route
from wrapper.schemas.errors import AnthropicError, Dialect, OpenAIError

OPENAPI_VERSION = "3.1.0"
_SCHEMA_REF = "#/components/schemas/{name}"
_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"apiKeyHeader": []}]
_ERROR_TYPES: dict[Dialect, Any] = {"openai": OpenAIError, "anthropic": AnthropicError}
_ERROR_RESPONSE: dict[Dialect, str] = {"openai": "OpenAIError", "anthropic": "AnthropicError"}
_TAGS = {
    "chat": "OpenAI Chat Completions",
    "compatibility": "OpenAI Chat Completions",
    "responses": "OpenAI Responses",
    "messages": "Anthropic Messages",
    "models": "Models",
    "sessions": "Sessions",
}


class UndocumentedRouteError(ValueError):
    """A route in the table has no :class:`Doc`."""


def openapi_document(
    routes: Sequence[Route], *, title: str, version: str, description: str = ""
) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing ``routes``.

    Raises:
        UndocumentedRouteError: a route has no ``doc``.
    """
    missing = [f"{route.method} {route.pattern}" for route in routes if route.doc is None]
    if missing:
        raise UndocumentedRouteError(f"routes without a Doc: {', '.join(missing)}")
    schemas = _Schemas(_types(routes))
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(routes, key=lambda r: r.pattern):
        operations = paths.setdefault(route.pattern, {})
        operation = _operation(route, schemas)
        operations[route.method.lower()] = operation
        if route.method == "GET" and _doc(route).head:
            head = {**operation, "operationId": f"{route.name}.head"}
            head["responses"] = {
                status: {k: v for k, v in answer.items() if k != "content"}
                for status, answer in operation["responses"].items()
            }
            operations["head"] = head
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": description,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/", "description": "this server"}],
        "tags": [{"name": name} for name in dict.fromkeys(_tag(r) for r in routes)],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "responses": {
                name: {
                    "description": f"An error in {name.removesuffix('Error')}'s envelope.",
                    "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}},
                    "content": {"application/json": {"schema": schemas.of(_ERROR_TYPES[dialect])}},
                }
                for dialect, name in _ERROR_RESPONSE.items()
            },
            "headers": {
                "RequestId": {
                    "description": "The request's id (the client's X-Request-Id when sane).",
                    "schema": {"type": "string"},
                },
                "RetryAfter": {
                    "description": "Seconds to wait before retrying (whole seconds).",
                    "schema": {"type": "integer"},
                },
            },
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API_KEY as `Authorization: Bearer <key>` (OpenAI clients).",
                },
                "apiKeyHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "API_KEY as `x-api-key: <key>` (Anthropic clients).",
                },
            },
        },
    }


def _doc(route: Route) -> Doc:
    if route.doc is None:
        raise UndocumentedRouteError(f"{route.method} {route.pattern} has no Doc")
    return route.doc


def _types(routes: Iterable[Route]) -> list[Any]:
    found: list[Any] = list(_ERROR_TYPES.values())
    for route in routes:
        doc = _doc(route)
        found += [t for t in (doc.body, doc.response, doc.stream) if t is not None]
        found += [t for t in doc.statuses.values() if t is not None]
    return list(dict.fromkeys(found))


class _Schemas:
    """JSON Schemas of the documented types, with their shared components."""

    def __init__(self, types: list[Any]) -> None:
        refs, self.components = msgspec.json.schema_components(
            types, schema_hook=_any_object, ref_template=_SCHEMA_REF
        )
        self._by_type = dict(zip(types, refs, strict=True))

    def of(self, kind: Any) -> dict[str, Any]:
        return dict(self._by_type[kind])


def _any_object(kind: type) -> dict[str, Any]:
    """``object`` (any JSON value) is the one type outside msgspec's own that we use."""
    if kind is object:
        return {"description": "Any JSON value."}
    raise NotImplementedError


def _tag(route: Route) -> str:
    parts = route.pattern.strip("/").split("/")
    if parts[0] != "v1" or len(parts) < 2:
        return "Server"
    return _TAGS.get(parts[1], "Operations")


def _operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    doc = _doc(route)
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": doc.summary,
        "tags": [_tag(route)],
        "security": _SECURITY if route.auth else [],
    }
    if doc.description:
        operation["description"] = doc.description
    if route.admin:
        # Only admin keys may call it; a user key gets 403.
        operation["x-admin-only"] = True
    parameters = [
        {"name": segment[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
        for segment in route.segments
        if segment.startswith("{")
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "description": text,
         "schema": {"type": "string"}}
        for name, text in doc.query.items()
    ]  # fmt: skip
    if parameters:
        operation["parameters"] = parameters
    if doc.body is not None:
        media: dict[str, Any] = {"schema": schemas.of(doc.body)}
        if doc.example is not None:
            media["example"] = doc.example
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    operation["responses"] = _responses(route, doc, schemas)
    return operation


def _body(schemas: _Schemas, kind: Any, media_type: str) -> dict[str, Any]:
    if kind is None or not media_type.startswith("application/json"):
        return {media_type: {"schema": {"type": "string"}}}
    return {media_type: {"schema": schemas.of(kind)}}


def _responses(route: Route, doc: Doc, schemas: _Schemas) -> dict[str, Any]:
    request_id = {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}
    ok: dict[str, Any] = {"description": doc.summary, "headers": request_id}
    content = _body(schemas, doc.response, doc.media_type)
    if doc.stream is not None:
        content["text/event-stream"] = _event_stream(schemas, doc.stream, route.dialect)
    ok["content"] = content
    responses: dict[str, Any] = {"200": ok}
    for status, kind in sorted(doc.statuses.items()):
        responses[str(status)] = {
            "description": f"HTTP {status}",
            "headers": request_id,
            "content": _body(schemas, kind, doc.media_type),
        }
    error = {"$ref": f"#/components/responses/{_ERROR_RESPONSE[route.dialect]}"}
    if route.auth:
        responses["401"] = error
    if route.admin:
        responses["403"] = error
    responses["4XX"] = error
    responses["5XX"] = error
    return responses


def _event_stream(schemas: _Schemas, events: Any, dialect: Dialect) -> dict[str, Any]:
    """An SSE body: the schema of each event's ``data`` (the dialect's in-stream error
    included), and the ``event:`` names when the events carry them."""
    schema = schemas.of(events)
    error = schemas.of(_ERROR_TYPES[dialect])
    mapping = dict(schema.get("discriminator", {}).get("mapping", {}))
    if not mapping:
        return {
            "schema": {
                "anyOf": [schema, error],
                "description": "Each SSE `data:` line is one of these objects (an error "
                "object when the turn fails after the stream began); the stream ends with "
                "`data: [DONE]`.",
            },
            "x-sse-terminator": "[DONE]",
        }
    if "error" not in mapping:
        mapping["error"] = error["$ref"]
        schema["anyOf"] = [*schema["anyOf"], error]
    schema["discriminator"] = {"propertyName": "type", "mapping": mapping}
    schema["description"] = (
        "Each SSE event's `data` is one of these objects; its `type` is also the "
        "event's `event:` name."
    )
    return {"schema": schema, "x-sse-events": sorted(mapping)}
