"""The ASGI types every part of the HTTP layer speaks (ASGI 3, HTTP spec 2.1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
"""A connection's scope (``type``, ``method``, ``path``, ``headers``...)."""
Message = dict[str, Any]
"""One ASGI event: ``http.request``, ``http.response.start``, ``http.disconnect``..."""
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
