"""Bounds on request fields that reach the CLI's command line.

The structured-output schema is one command-line argument of the CLI (it has no
other way to take it), and Linux refuses an argument over 128 KiB; a schema is
bounded well below that, so a huge one is the client's 400 naming its field, not a
failed spawn.
"""

from __future__ import annotations

from typing import Any

import msgspec

from wrapper.errors import InvalidRequestError

MAX_OUTPUT_SCHEMA_BYTES = 64 * 1024


def bounded_schema(schema: dict[str, Any], param: str) -> dict[str, Any]:
    """``schema``, if its JSON fits the limit.

    Raises:
        InvalidRequestError: the schema's JSON is larger than the limit (names ``param``).
    """
    size = len(msgspec.json.encode(schema))
    if size > MAX_OUTPUT_SCHEMA_BYTES:
        raise InvalidRequestError(
            f"{param} is {size} bytes of JSON; the limit is {MAX_OUTPUT_SCHEMA_BYTES}.",
            param=param,
        )
    return schema
