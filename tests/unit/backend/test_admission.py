"""The cap on turns in flight: slots, the fair queue, its limits, and slots that never leak."""

from __future__ import annotations

from contextlib import AsyncExitStack

import anyio
import anyio.lowlevel
import pytest

from wrapper.backend.admission import PACE_WAIT_S, Admission
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


class Cores:
    """The pool's view of the running turns, set by the test."""

    def __init__(self, saturated: bool) -> None:
        self.saturated = saturated
        self.asked: list[int] = []

    def __call__(self, running: int) -> bool:
        self.asked.append(running)
        return self.saturated


def paced(limit: int = 4, *, saturated: bool = True, pace_wait_s: float = PACE_WAIT_S) -> Admission:
    """An admission with room for ``limit`` turns, paced from 2 while ``saturated``."""
    admission = Admission(
        limit, queue_limit=4, queue_timeout_s=5, cpu_bound_limit=2, pace_wait_s=pace_wait_s
    )
    admission.saturated = Cores(saturated)
    return admission


async def test_while_the_running_turns_use_the_cores_the_next_waits_for_one_to_end() -> None:
    admission = paced()
    order: list[str] = []
    first = AsyncExitStack()
    async with AsyncExitStack() as stack:
        await first.enter_async_context(admission.slot(5))
        await stack.enter_async_context(admission.slot(5))

        async def third() -> None:
            async with admission.slot(5):
                order.append("third")
                assert admission.running == 2  # it took the slot of the turn that ended

        async with anyio.create_task_group() as group:
            group.start_soon(third)
            await until_waiting(admission, 1)
            assert admission.paced == 1
            order.append("first ends")
            await first.aclose()
        assert order == ["first ends", "third"]
    assert admission.running == 0


async def test_a_paced_turn_starts_anyway_once_it_has_waited_long_enough() -> None:
    admission = paced(pace_wait_s=0.02)
    async with AsyncExitStack() as stack:
        for _ in range(2):
            await stack.enter_async_context(admission.slot(5))
        async with admission.slot(5):
            assert admission.running == 3
            assert admission.waiting == 0
        assert admission.paced == 1
    assert admission.running == 0


async def test_turns_that_do_not_use_the_cores_start_at_once_up_to_the_cap() -> None:
    admission = paced(saturated=False)
    async with AsyncExitStack() as stack:
        for _ in range(4):
            await stack.enter_async_context(admission.slot(5))
        assert (admission.running, admission.waiting, admission.paced) == (4, 0, 0)


async def test_pacing_never_refuses_a_turn_the_cap_has_room_for() -> None:
    admission = Admission(4, queue_limit=0, queue_timeout_s=5, cpu_bound_limit=2)
    admission.saturated = Cores(True)
    async with AsyncExitStack() as stack:
        for _ in range(4):
            await stack.enter_async_context(admission.slot(5))
        assert admission.running == 4
        with pytest.raises(RateLimitedError):
            await stack.enter_async_context(admission.slot(5))


async def test_a_queue_full_of_paced_turns_lets_the_next_start_rather_than_refuse_it() -> None:
    admission = Admission(4, queue_limit=1, queue_timeout_s=5, cpu_bound_limit=2)
    admission.saturated = Cores(True)
    async with AsyncExitStack() as stack:
        for _ in range(2):
            await stack.enter_async_context(admission.slot(5))
        async with anyio.create_task_group() as group:
            group.start_soon(stack.enter_async_context, admission.slot(5))
            await until_waiting(admission, 1)  # paced: the queue is full
            async with admission.slot(5):
                assert admission.running == 3
            group.cancel_scope.cancel()
    assert (admission.rejected, admission.running, admission.waiting) == (0, 0, 0)


async def test_below_the_cpu_bound_limit_or_with_none_nothing_is_paced() -> None:
    cores = Cores(True)
    admission = Admission(4, queue_limit=4, queue_timeout_s=5, cpu_bound_limit=0)
    admission.saturated = cores
    async with AsyncExitStack() as stack:
        for _ in range(4):
            await stack.enter_async_context(admission.slot(5))
        assert (admission.running, admission.paced) == (4, 0)
    assert cores.asked == []
    paced_from_two = paced()
    async with AsyncExitStack() as stack:
        for _ in range(2):
            await stack.enter_async_context(paced_from_two.slot(5))
    assert paced_from_two.saturated is not None
    assert isinstance(paced_from_two.saturated, Cores)
    assert paced_from_two.saturated.asked == []  # one and two running: never asked


async def test_the_pacing_wait_never_lets_a_turn_past_the_cap() -> None:
    admission = paced(limit=2, pace_wait_s=0.01)
    holder = AsyncExitStack()
    await holder.enter_async_context(admission.slot(5))
    await holder.enter_async_context(admission.slot(5))
    admitted: list[int] = []

    async def waiter() -> None:
        async with admission.slot(5):
            admitted.append(admission.running)

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        await until_waiting(admission, 1)
        with anyio.move_on_after(0.05):  # well past the pacing wait
            while not admitted:
                await anyio.lowlevel.checkpoint()
        assert admitted == []
        await holder.aclose()
    assert admitted == [1]
    assert admission.running == 0
