"""The OpenAPI document of the server, generated from the route table's msgspec types."""

from wrapper.openapi.document import OPENAPI_VERSION, UndocumentedRouteError, openapi_document

__all__ = ["OPENAPI_VERSION", "UndocumentedRouteError", "openapi_document"]
