"""The cap on turns in flight: slots, the fair queue, its limits, and slots that never leak."""

from __future__ import annotations

from contextlib import AsyncExitStack

import anyio
import anyio.lowlevel
import pytest

from wrapper.backend.admission import Admission
from wrapper.errors import BackendUnavailableError, RateLimitedError

pytestmark = pytest.mark.anyio


async def until_waiting(admission: Admission, count: int) -> None:
    with anyio.fail_after(5):
        while admission.waiting != count:
            await anyio.lowlevel.checkpoint()


async def test_turns_up_to_the_limit_run_the_next_waits_its_turn_in_order() -> None:
    admission = Admission(2, queue_limit=4, queue_timeout_s=5)
    order: list[int] = []
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(admission.slot(5))
        first = AsyncExitStack()
        await first.enter_async_context(admission.slot(5))
        assert admission.running == 2

        async def waiter(n: int) -> None:
            async with admission.slot(5):
                order.append(n)

        async with anyio.create_task_group() as group:
            group.start_soon(waiter, 1)
            await until_waiting(admission, 1)
            group.start_soon(waiter, 2)
            await until_waiting(admission, 2)
            await first.aclose()
        assert order == [1, 2]
        assert admission.running == 1
    assert admission.running == 0


async def test_a_full_queue_refuses_at_once() -> None:
    admission = Admission(1, queue_limit=0, queue_timeout_s=5)
    async with admission.slot(5):
        with pytest.raises(RateLimitedError) as raised:
            async with admission.slot(5):
                pass
    assert raised.value.status == 429
    assert raised.value.code == "server_busy"
    assert admission.rejected == 1
    assert admission.running == 0


async def test_a_wait_past_the_queue_timeout_is_refused() -> None:
    admission = Admission(1, queue_limit=4, queue_timeout_s=0.05)
    async with admission.slot(5):
        with pytest.raises(BackendUnavailableError) as raised:
            async with admission.slot(5):
                pass
    assert raised.value.code == "queue_timeout"
    assert admission.waiting == 0
    assert admission.running == 0


async def test_a_turn_cancelled_in_the_queue_leaves_it() -> None:
    admission = Admission(1, queue_limit=4, queue_timeout_s=5)
    async with admission.slot(5):
        with anyio.move_on_after(0.05):
            async with admission.slot(5):
                pytest.fail("admitted past the cap")
        assert admission.waiting == 0
        assert admission.running == 1
    assert admission.running == 0


async def test_a_turn_cancelled_just_as_it_was_granted_passes_the_slot_on() -> None:
    admission = Admission(1, queue_limit=4, queue_timeout_s=5)
    entered: list[str] = []
    holder = AsyncExitStack()
    await holder.enter_async_context(admission.slot(5))
    scope = anyio.CancelScope()

    async def cancelled() -> None:
        with scope:
            async with admission.slot(5):
                entered.append("cancelled")

    async def next_in_line() -> None:
        async with admission.slot(5):
            entered.append("next")

    async with anyio.create_task_group() as group:
        group.start_soon(cancelled)
        await until_waiting(admission, 1)
        group.start_soon(next_in_line)
        await until_waiting(admission, 2)
        scope.cancel()  # the first waiter is cancelled, and before it runs...
        await holder.aclose()  # ...it is granted the slot
    assert entered == ["next"]
    assert admission.running == 0
    assert admission.waiting == 0


async def test_a_turn_cancelled_inside_its_slot_frees_it() -> None:
    admission = Admission(1, queue_limit=4, queue_timeout_s=5)
    with anyio.move_on_after(0.01):
        async with admission.slot(5):
            await anyio.sleep_forever()
    assert admission.running == 0


async def test_a_failing_admission_observer_does_not_keep_the_slot() -> None:
    admission = Admission(1, queue_limit=4, queue_timeout_s=5)

    def observe(waited: float) -> None:
        raise RuntimeError("metrics are down")

    admission.on_admitted = observe
    with pytest.raises(RuntimeError):
        async with admission.slot(5):
            pass
    assert admission.running == 0
