"""The exit stack of the app's resources, with the lifespan's background task group."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import anyio.abc


class LifespanStack(AsyncExitStack):
    """Resources entered for the app's life, released in reverse order at shutdown.

    Components start long-running work with ``background.start_soon``; the app
    cancels that group after the stack is closed. ``final`` steps run after the
    background group stopped as well, when nothing can start new work any more.
    """

    def __init__(self, background: anyio.abc.TaskGroup) -> None:
        super().__init__()
        self.background = background
        self.final: list[Callable[[], Awaitable[object]]] = []
