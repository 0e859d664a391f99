"""The request as handlers see it: method, path, headers, and a size-limited body.

The body limit counts the bytes actually received, so a chunked upload (no
``Content-Length``) cannot slip past it. Decoding errors are classified here,
once: malformed JSON, JSON nested deeper than :data:`MAX_JSON_DEPTH` and schema
violations all become :class:`~wrapper.errors.InvalidRequestError`, keeping
msgspec's ``$.path``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import NamedTuple, TypeVar
from urllib.parse import parse_qsl

import anyio
import msgspec

from wrapper.errors import InvalidRequestError, PayloadTooLargeError, RequestTimeoutError
from wrapper.http.asgi_types import Receive, Scope

T = TypeVar("T")

# Deeper JSON is refused before decoding: msgspec (and any code that walks the
# decoded value) recurses once per level, and no API body needs this many.
MAX_JSON_DEPTH = 100

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_SQUARE = bytes.maketrans(b"{}", b"[]")


class Caller(NamedTuple):
    """Who sent a request: the name of the client key it presented, and its role.

    ``scoped``: the caller's sessions live in a namespace of their own (every named
    key's; not those of ``API_KEY`` or of an open server, whose session ids are
    kept as given, as before named keys existed). Without configured keys every
    caller is the admin ``anonymous``.
    """

    name: str
    admin: bool
    scoped: bool = True


ANONYMOUS = Caller("anonymous", admin=True, scoped=False)


class ClientDisconnectedError(Exception):
    """The client went away before the request body was read."""


class Request:
    """One HTTP request. Built by the app per request; never shared."""

    __slots__ = (
        "_body",
        "_receive",
        "caller",
        "client_ip",
        "headers",
        "method",
        "path",
        "path_params",
        "query",
        "request_id",
        "scope",
    )

    def __init__(self, scope: Scope, receive: Receive, request_id: str) -> None:
        self.scope = scope
        self._receive = receive
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.request_id = request_id
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            headers[raw_name.decode("latin-1").lower()] = raw_value.decode("latin-1")
        self.headers: Mapping[str, str] = headers
        query_string = scope.get("query_string", b"").decode("latin-1")
        self.query: Mapping[str, str] = dict(parse_qsl(query_string, keep_blank_values=True))
        client = scope.get("client")
        self.client_ip: str = client[0] if client else "unknown"
        self.path_params: dict[str, str] = {}
        self.caller = ANONYMOUS
        self._body: bytes | None = None

    async def body(self, limit: int, within_s: float = math.inf) -> bytes:
        """Read the whole body, refusing more than ``limit`` bytes or taking over ``within_s``.

        Raises:
            PayloadTooLargeError: the declared or received size exceeds ``limit``.
            RequestTimeoutError: the body did not arrive within ``within_s`` seconds.
            ClientDisconnectedError: the client disconnected while sending.
        """
        if self._body is not None:
            return self._body
        declared = self.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLargeError(_too_large_message(limit))
        chunks: list[bytes] = []
        received = 0
        with anyio.move_on_after(within_s) as scope:
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnectedError
                chunk = message.get("body", b"")
                if chunk:
                    received += len(chunk)
                    if received > limit:
                        raise PayloadTooLargeError(_too_large_message(limit))
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if scope.cancelled_caught:
            raise RequestTimeoutError(
                f"The request body did not arrive within {within_s:g} seconds "
                "(BODY_TIMEOUT_SECONDS)."
            )
        self._body = b"".join(chunks)
        return self._body


def decode_json(raw: bytes, decoder: msgspec.json.Decoder[T]) -> T:
    """Decode ``raw`` with ``decoder``, classifying failures as 400s.

    Raises:
        InvalidRequestError: the body is empty, not JSON, or violates the schema.
    """
    if not raw.strip():
        raise InvalidRequestError("The request body is empty; send a JSON object.")
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise InvalidRequestError(_too_deep_message())
    try:
        return decoder.decode(raw)
    except RecursionError:
        raise InvalidRequestError(_too_deep_message()) from None
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise InvalidRequestError(
            f"Invalid request: {message}", param=_param_from_message(message)
        ) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequestError(f"The request body is not valid JSON: {exc}") from None


def json_depth(raw: bytes, *, cap: int = MAX_JSON_DEPTH + 1) -> int:
    """How deeply arrays and objects nest in ``raw``, counted up to ``cap``.

    Brackets inside strings are ignored. Each pass removes the innermost pairs, so the
    work is ``depth`` scans at C speed. Exact for valid JSON; for invalid JSON only a
    bound (the decoder rejects it anyway).
    """
    if raw.count(b"[") + raw.count(b"{") < cap:
        return 0
    brackets = _JSON_STRING.sub(b"", raw).translate(_SQUARE, _NOT_BRACKETS)
    depth = 0
    while depth < cap and b"[]" in brackets:
        brackets = brackets.replace(b"[]", b"")
        depth += 1
    return depth


def _too_deep_message() -> str:
    return f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels."


def _param_from_message(message: str) -> str | None:
    """Pull msgspec's ``$.a.b[0]`` path out of a validation message."""
    marker = "`$"
    start = message.rfind(marker)
    if start == -1:
        return None
    end = message.find("`", start + 1)
    if end == -1:
        return None
    path = message[start + 3 : end]
    return path or None


def _too_large_message(limit: int) -> str:
    return f"Request body too large: the limit is {limit} bytes (MAX_REQUEST_SIZE)."
