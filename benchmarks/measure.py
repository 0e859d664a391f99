"""The timed phases: contenders take turns round by round, never all of A then all of B.

Every batch is a CPU window: the contender is made ready first (its background
work over; the floor's conversation cleared), CPU is read, the requests run,
the contender settles again (so background work the batch caused — a pool's
``/clear``, a spare started — is counted), and CPU is read again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from benchmarks.contenders import Contender, Sample


@dataclass(frozen=True)
class Plan:
    """How many requests each batch sends (per contender, per round)."""

    rounds: int = 3
    sequential: int = 10
    throughput: int = 40
    concurrency: tuple[int, ...] = (1, 4, 16)
    # The pool-off server needs ~0.4 s of CPU per request: it gets this share of the
    # requests (never fewer than the concurrency), to keep a run in time.
    cold_share: float = 0.34


@dataclass
class Window:
    """CPU used over some batches: the Python side (server worker, or the SDK's host
    thread for the floor) and the CLI side (CLI processes, reaped ones included)."""

    requests: int = 0
    python_s: float = 0.0
    cli_s: float = 0.0
    wall_s: float = 0.0

    def add(self, requests: int, python_s: float, cli_s: float, wall_s: float) -> None:
        self.requests += requests
        self.python_s += python_s
        self.cli_s += cli_s
        self.wall_s += wall_s

    def as_dict(self) -> dict[str, float]:
        n = self.requests or math.nan
        return {
            "requests": self.requests,
            "cpu_s": self.python_s + self.cli_s,
            "wall_s": self.wall_s,
            "cpu_s_per_request": (self.python_s + self.cli_s) / n,
            "python_cpu_s_per_request": self.python_s / n,
            "cli_cpu_s_per_request": self.cli_s / n,
        }


@dataclass
class Record:
    """Everything measured for one contender in one upstream mode."""

    nonstream_s: list[float] = field(default_factory=list)
    first_content_s: list[float] = field(default_factory=list)
    stream_total_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: dict[str, Window] = field(default_factory=dict)
    # concurrency -> (completed, elapsed) per round
    throughput: dict[int, list[tuple[int, float]]] = field(default_factory=dict)

    def window(self, name: str) -> Window:
        return self.cpu.setdefault(name, Window())


def rotated(items: Sequence[Contender], by: int) -> list[Contender]:
    shift = by % len(items)
    return [*items[shift:], *items[:shift]]


def share(contender: Contender, count: int, plan: Plan, minimum: int = 1) -> int:
    if not contender.cold:
        return count
    return max(minimum, round(count * plan.cold_share))


async def _windowed(contender: Contender, record: Record, name: str, run: Any) -> tuple[int, float]:
    """Run ``run()`` (returning the number of requests sent) inside a CPU window."""
    await contender.prepare()
    python_before, cli_before = contender.cpu_seconds()
    started = time.perf_counter()
    sent = await run()
    elapsed = time.perf_counter() - started
    await contender.settle()
    python_after, cli_after = contender.cpu_seconds()
    python, cli = python_after - python_before, cli_after - cli_before
    record.window(name).add(sent, python, cli, elapsed)
    print(
        f"   {contender.name:<11} {name:<10} {sent:>3} requests in {elapsed:6.2f} s, "
        f"CPU {python + cli:5.2f} s (python {python:5.2f}, CLI {cli:5.2f}), "
        f"errors {len(record.errors)}",
        flush=True,
    )
    return sent, elapsed


def _keep(record: Record, sample: Sample) -> bool:
    if not sample.ok:
        record.errors.append(sample.error)
    return sample.ok


async def sequential(
    contenders: Sequence[Contender], records: dict[str, Record], plan: Plan, marker: str
) -> None:
    """Non-stream latency, then stream first-content and total, one request at a time."""
    for round_no in range(plan.rounds):
        for contender in rotated(contenders, round_no):
            record = records[contender.name]
            count = share(contender, plan.sequential, plan)

            async def nonstream(
                c: Contender = contender, r: Record = record, n: int = count
            ) -> int:
                for _ in range(n):
                    sample = await c.chat(marker, stream=False)
                    if _keep(r, sample):
                        r.nonstream_s.append(sample.total_s)
                return n

            async def stream(c: Contender = contender, r: Record = record, n: int = count) -> int:
                for _ in range(n):
                    sample = await c.chat(marker, stream=True)
                    if _keep(r, sample) and sample.first_content_s is not None:
                        r.first_content_s.append(sample.first_content_s)
                        r.stream_total_s.append(sample.total_s)
                return n

            await _windowed(contender, record, "sequential", nonstream)
            await _windowed(contender, record, "sequential", stream)


async def _load(contender: Contender, record: Record, marker: str, total: int, workers: int) -> int:
    """``total`` non-stream requests from ``workers`` loops; returns how many succeeded."""
    remaining = total
    completed = 0

    async def worker() -> None:
        nonlocal remaining, completed
        while remaining > 0:
            remaining -= 1
            if _keep(record, await contender.chat(marker, stream=False)):
                completed += 1

    async with anyio.create_task_group() as group:
        for _ in range(workers):
            group.start_soon(worker)
    return completed


async def throughput(
    contenders: Sequence[Contender],
    records: dict[str, Record],
    plan: Plan,
    marker: str,
) -> None:
    """Completed requests per second at each concurrency (the floor only at 1)."""
    for concurrency in plan.concurrency:
        eligible = [c for c in contenders if concurrency == 1 or c.concurrent]
        for round_no in range(plan.rounds):
            for contender in rotated(eligible, round_no):
                record = records[contender.name]
                count = share(
                    contender, max(plan.throughput, concurrency), plan, minimum=concurrency
                )
                completed = 0

                async def run(
                    c: Contender = contender,
                    r: Record = record,
                    n: int = count,
                    k: int = concurrency,
                ) -> int:
                    nonlocal completed
                    completed = await _load(c, r, marker, n, k)
                    return n

                _, elapsed = await _windowed(contender, record, f"c{concurrency}", run)
                record.throughput.setdefault(concurrency, []).append((completed, elapsed))


async def warm_up(contenders: Sequence[Contender], marker: str, concurrency: int) -> None:
    """Unmeasured: start each server's pool up to its steady size, prime the floor."""
    for contender in contenders:
        await contender.prepare()
        if contender.concurrent and not contender.cold:
            for _ in range(2):
                await _load(contender, Record(), marker, concurrency, concurrency)
                await contender.settle()
        for _ in range(2):
            await contender.chat(marker, stream=False)
        await contender.settle()
