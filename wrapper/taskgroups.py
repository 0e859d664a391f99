"""Running coroutines side by side and surfacing their first failure plainly.

anyio task groups raise an ``ExceptionGroup``; callers here want the first
:class:`~wrapper.errors.WrapperError` (or the first other exception) so the
usual error rendering applies.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import anyio

from wrapper.errors import WrapperError


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error worth reporting from a task group's failures (a WrapperError first)."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for leaf in leaves:
        if isinstance(leaf, WrapperError):
            return leaf
    for leaf in leaves:
        if not isinstance(leaf, anyio.get_cancelled_exc_class()):
            return leaf
    return leaves[0]


async def run_all(tasks: Sequence[Callable[[], Coroutine[Any, Any, None]]]) -> None:
    """Run ``tasks`` concurrently; if any fails, cancel the rest and raise its error.

    Raises:
        WrapperError: the first WrapperError any task raised (preferred).
        Exception: otherwise the first failure.
    """
    if len(tasks) == 1:
        await tasks[0]()
        return
    try:
        async with anyio.create_task_group() as group:
            for task in tasks:
                group.start_soon(task)
    except BaseExceptionGroup as group_error:
        raise first_error(group_error) from None
