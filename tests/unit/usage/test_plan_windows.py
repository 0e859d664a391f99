"""The plan's windows from the CLI's rate-limit readings, shared through the usage store."""

from __future__ import annotations

import anyio
import pytest

from wrapper.usage.plan_windows import PlanWindows, readings_from
from wrapper.usage.store import MemoryUsageStore

pytestmark = pytest.mark.anyio

# What the bundled CLI reported for a warning on the five-hour window (captured).
WARNING = {
    "status": "allowed_warning",
    "resetsAt": 1_000_600,
    "rateLimitType": "five_hour",
    "utilization": 0.91,
    "isUsingOverage": False,
    "surpassedThreshold": 0.9,
    "unifiedWindows": {
        "five_hour": {
            "utilization": 0.91,
            "resetsAt": 1_000_600,
            "status": "allowed_warning",
            "surpassedThreshold": 0.9,
        },
        "seven_day": {"utilization": 0.4, "resetsAt": 1_086_400, "status": "allowed"},
    },
}


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_every_window_of_a_reading_is_kept() -> None:
    readings = {r.window: r for r in readings_from(WARNING, 5.0)}
    assert set(readings) == {"five_hour", "seven_day", "unified"}
    assert readings["unified"].status == "warning"
    assert readings["five_hour"].status == "warning"
    assert readings["five_hour"].surpassed_threshold == 0.9
    assert readings["seven_day"].utilization == 0.4
    assert readings["seven_day"].observed_at == 5.0


def test_a_reading_without_windows_still_names_its_own_and_the_overage() -> None:
    raw = {"status": "rejected", "resetsAt": 9, "rateLimitType": "seven_day_opus",
           "overageStatus": "rejected", "overageResetsAt": 99}  # fmt: skip
    readings = {r.window: r for r in readings_from(raw, 1.0)}
    assert readings["seven_day_opus"].status == "rejected"
    assert readings["overage"].resets_at == 99


async def test_the_report_puts_the_closest_window_first_with_ages() -> None:
    clock = _Clock()
    plan = PlanWindows(clock=clock)
    plan.observe(WARNING)
    clock.now += 30
    report = plan.report(await plan.latest())
    assert report.closest == "five_hour"
    assert report.status == "warning"
    assert [w.window for w in report.windows] == ["five_hour", "seven_day"]
    assert report.windows[0].age_s == 30
    assert report.windows[0].resets_in_s == 570
    assert not report.rejected
    assert plan.rejected_until() is None


async def test_a_rejected_window_is_reported_until_it_resets() -> None:
    clock = _Clock()
    plan = PlanWindows(clock=clock)
    plan.observe({**WARNING, "status": "rejected", "unifiedWindows": {}})
    assert plan.rejected_until() == 1_000_600
    assert plan.report(await plan.latest()).rejected
    clock.now = 1_000_601
    assert plan.rejected_until() is None


async def test_replicas_see_each_others_newest_readings() -> None:
    clock = _Clock()
    store = MemoryUsageStore(clock)
    one, two = PlanWindows(store, clock), PlanWindows(store, clock)
    one.observe(WARNING)
    await one.flush()
    clock.now += 5
    newer = {"status": "rejected", "resetsAt": 1_000_600, "rateLimitType": "five_hour"}
    two.observe(newer)
    await two.flush()
    seen_by_one = await one.latest()
    assert seen_by_one["five_hour"].status == "rejected"
    assert seen_by_one["seven_day"].utilization == 0.4
    assert one.rejected_until() == 1_000_600


async def test_a_rejected_overage_window_alone_does_not_mean_claude_refuses() -> None:
    clock = _Clock()
    plan = PlanWindows(clock=clock)
    plan.observe(
        {"status": "allowed", "resetsAt": 1_000_600, "rateLimitType": "five_hour",
         "overageStatus": "rejected", "overageResetsAt": 1_500_000,
         "unifiedWindows": {"five_hour": {"utilization": 0.2, "status": "allowed"}}}
    )  # fmt: skip
    report = plan.report(await plan.latest())
    assert report.windows[0].window == "overage"
    assert report.closest == "five_hour"
    assert not report.rejected
    assert plan.rejected_until() is None


async def test_the_flusher_writes_each_reading_out_as_it_comes() -> None:
    clock = _Clock()
    store = MemoryUsageStore(clock)
    plan = PlanWindows(store, clock)
    async with anyio.create_task_group() as group:
        group.start_soon(plan.run_flusher)
        await anyio.wait_all_tasks_blocked()
        plan.observe(WARNING)
        await anyio.wait_all_tasks_blocked()
        assert set(await store.readings("plan-windows")) == {"five_hour", "seven_day", "unified"}
        group.cancel_scope.cancel()
