"""Holding open resources that own a task group, beside the app's lifespan.

A coredis client and the expiry sweeper each run an anyio task group for as long
as they are open. A task group must be exited by the task that entered it, with
no other cancel scope opened since; the app's lifespan closes its exit stack
inside a shielded scope, so a task group entered into that stack cannot be
exited cleanly. Instead these resources are entered and exited by a host task of
their own: the lifespan's stack only tells the host to stop and waits for it.

The host task runs in the app's background task group (the lifespan's, given
as ``stack.background``): it never raises; failures while closing are logged.
Outside the app (a plain exit stack with no background group, as in tests that
enter and leave it in one task), the resources are entered into the stack itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Generic, TypeVar

import anyio
import anyio.abc

from wrapper.logging import get_logger

T = TypeVar("T")

log = get_logger(__name__)

_CLOSE_DEADLINE_S = 30.0


class _Host(Generic[T]):
    def __init__(self, setup: Callable[[AsyncExitStack], Awaitable[T]], name: str) -> None:
        self.setup = setup
        self.name = name
        self.ready = anyio.Event()
        self.stop = anyio.Event()
        self.done = anyio.Event()
        self.value: T | None = None
        self.error: Exception | None = None

    async def run(self) -> None:
        try:
            async with AsyncExitStack() as resources:
                try:
                    self.value = await self.setup(resources)
                except Exception as exc:  # noqa: BLE001 - re-raised by run_hosted
                    self.error = exc
                    return
                finally:
                    self.ready.set()
                await self.stop.wait()
        except Exception:  # closing failed; the host task itself must not raise
            log.exception("sessions.host_close_failed", host=self.name)
        finally:
            self.done.set()

    async def close(self) -> None:
        self.stop.set()
        with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_DEADLINE_S):
            await self.done.wait()


async def run_hosted(
    stack: AsyncExitStack, setup: Callable[[AsyncExitStack], Awaitable[T]], *, name: str
) -> T:
    """Run ``setup(resources)`` in a host task; ``stack`` closes ``resources`` there.

    Raises:
        Exception: whatever ``setup`` raised (its resources are closed first).
    """
    background = getattr(stack, "background", None)
    if not isinstance(background, anyio.abc.TaskGroup):
        return await setup(stack)
    host: _Host[T] = _Host(setup, name)
    background.start_soon(host.run, name=f"claude-wrapper:{name}")
    await host.ready.wait()
    if host.error is not None:
        with anyio.CancelScope(shield=True):
            await host.done.wait()
        raise host.error
    stack.push_async_callback(host.close)
    assert host.value is not None
    return host.value
