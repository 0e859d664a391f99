"""One-shot traffic right after a restart: a fresh pooled server, cold, and ten requests.

The phase starts a server of its own (a ``tests.e2e.harness.ServerProcess``,
pool on, default settings), waits until ``GET /health`` answers, then sends
one-shot chats one after another with a short think time between them, the way
a user's traffic resumes after a deploy. Per request it records the latency,
the CPU of the server's process tree from just before the request to just
before the next one (so the think time, where a pool starts its spares and
resets the process it used, is counted with the request that caused it; after
the last request, until the server is quiet), and the pool's process count
after it (``GET /v1/pool/status``: ``processes.total``, ``processes.spawned``).
Peak RSS of the tree is sampled for the whole phase.

Requests from the third on are compared with the settled figures of the
long-running pooled server in the same run (its one-shot p50 and CPU per
request): a pool that starts cold should be as fast as a settled one by then.

That phase starts at ``/health``, the worst case: a balancer that does not gate
on readiness. :func:`gated_restart` then starts another fresh server and sends
its first request once ``GET /healthz/ready`` answers 200, as a balancer that
gates on readiness would: how long that takes, and what the request costs.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from benchmarks.contenders import MODEL, ServerContender
from benchmarks.conversation_scenarios import Client
from benchmarks.proctree import PeakRss
from benchmarks.stats import ratio, summary
from tests.e2e.harness import ServerProcess

REQUESTS = 10
THINK_S = 0.3
# The requests compared with the settled figures: the third on (index 2).
FROM_REQUEST = 3
TARGET = 1.3
READY_TIMEOUT_S = 60.0
READY_POLL_S = 0.05


async def after_restart(
    upstream_url: str, requests: int = REQUESTS, think_s: float = THINK_S
) -> dict[str, Any]:
    """Start a fresh pooled server and measure ``requests`` one-shot chats on it."""
    server = ServerProcess(upstream_url, env={"DEFAULT_MODEL": MODEL})
    peak = PeakRss()
    # Sampled from the launch on: the tree's pid is known once the thread has spawned it.
    peak.watch("restarted", lambda: [server.process.pid] if server.process else [])
    peak.start()
    started = time.perf_counter()
    try:
        await anyio.to_thread.run_sync(server.start)  # returns once /health answers 200
    except BaseException:
        peak.stop()
        await anyio.to_thread.run_sync(server.close)
        raise
    healthy_s = time.perf_counter() - started
    assert server.process is not None
    contender = ServerContender("restarted", server.url, server.process.pid, pooled=True)
    client = Client(contender)
    rows: list[dict[str, Any]] = []
    try:
        cpu_before = sum(contender.cpu_seconds())
        status = await contender.status()
        startup_cpu = cpu_before
        processes_at_health = status["processes"].get("total")
        for n in range(requests):
            latency = await client.one_shot()
            status = await contender.status()
            if n < requests - 1:
                await anyio.sleep(think_s)
            else:
                await contender.settle()
            cpu_after = sum(contender.cpu_seconds())
            processes = status["processes"]
            rows.append(
                {
                    "request": n + 1,
                    "latency_s": latency,
                    "cpu_s": cpu_after - cpu_before,
                    "processes": processes.get("total"),
                    "spawned": processes.get("spawned"),
                }
            )
            cpu_before = cpu_after
        final = await contender.status()
    finally:
        peak.stop()
        await contender.aclose()
        await anyio.to_thread.run_sync(server.close)
    later = [row for row in rows if row["request"] >= FROM_REQUEST]
    return {
        "requests": rows,
        "think_s": think_s,
        "healthy_after_s": healthy_s,
        "startup_cpu_s": startup_cpu,
        "processes_at_health": processes_at_health,
        "from_request": FROM_REQUEST,
        "later_p50_s": summary([row["latency_s"] for row in later])["p50"],
        "later_cpu_s_per_request": sum(row["cpu_s"] for row in later) / len(later)
        if later
        else None,
        "peak_rss_bytes": peak.peaks.get("restarted"),
        "pool_status_end": final,
    }


async def gated_restart(upstream_url: str) -> dict[str, Any]:
    """Start a fresh pooled server, wait for ``GET /healthz/ready``, then measure one
    one-shot chat (its latency; the tree's CPU until the server is quiet again)."""
    server = ServerProcess(upstream_url, env={"DEFAULT_MODEL": MODEL})
    started = time.perf_counter()
    try:
        await anyio.to_thread.run_sync(server.start)  # returns once /health answers 200
        healthy_s = time.perf_counter() - started
        assert server.process is not None
        contender = ServerContender("gated", server.url, server.process.pid, pooled=True)
        try:
            with anyio.fail_after(READY_TIMEOUT_S):
                while (await contender.http.get("/healthz/ready")).status_code != 200:
                    await anyio.sleep(READY_POLL_S)
            ready_s = time.perf_counter() - started
            cpu_before = sum(contender.cpu_seconds())
            latency = await Client(contender).one_shot()
            await contender.settle()
            cpu = sum(contender.cpu_seconds()) - cpu_before
            processes = (await contender.status())["processes"]
        finally:
            await contender.aclose()
    finally:
        await anyio.to_thread.run_sync(server.close)
    return {
        "healthy_after_s": healthy_s,
        "ready_after_s": ready_s,
        "first_latency_s": latency,
        "first_cpu_s": cpu,
        "processes": processes.get("total"),
        "spawned": processes.get("spawned"),
    }


def gated_report(gated: dict[str, Any]) -> str:
    return (
        f"gated on /healthz/ready (another fresh server): healthy after "
        f"{gated['healthy_after_s']:.2f} s, ready after {gated['ready_after_s']:.2f} s; "
        f"its first request {gated['first_latency_s'] * 1000:.0f} ms, "
        f"{gated['first_cpu_s']:.3f} CPU-s, {gated['spawned']} spawned so far"
    )


def compare(phase: dict[str, Any], settled: dict[str, Any]) -> dict[str, Any]:
    """Requests 3.. of the phase against the settled one-shot figures (``p50_s`` and
    ``cpu_s_per_request`` of the long-running pooled server)."""
    latency = ratio(phase["later_p50_s"], settled["p50_s"])
    cpu = ratio(phase["later_cpu_s_per_request"], settled["cpu_s_per_request"])
    met = latency is not None and cpu is not None and max(latency, cpu) <= TARGET
    return {"limit": TARGET, "latency": latency, "cpu": cpu, "met": met}


def report(phase: dict[str, Any]) -> str:
    rss = phase.get("peak_rss_bytes")
    rows = [
        f"healthy {phase['healthy_after_s']:.2f} s after the start, "
        f"{phase['startup_cpu_s']:.2f} CPU-s by then, "
        f"{phase['processes_at_health']} processes; "
        f"peak RSS {'-' if rss is None else f'{rss / 1024 / 1024:.0f} MB'}",
        "",
        f"| request (think {phase['think_s']:.1f} s) | latency | CPU-s | processes after "
        "| spawned so far |",
        "|---|---|---|---|---|",
    ]
    for row in phase["requests"]:
        rows.append(
            f"| {row['request']} | {row['latency_s'] * 1000:.0f} ms | {row['cpu_s']:.3f} "
            f"| {row['processes']} | {row['spawned']} |"
        )
    comparison = phase.get("vs_settled")
    if comparison:
        rows += [
            "",
            f"requests {phase['from_request']}..: p50 {phase['later_p50_s'] * 1000:.0f} ms, "
            f"CPU {phase['later_cpu_s_per_request']:.3f} s/request; vs settled: "
            f"{_x(comparison['latency'])} latency, {_x(comparison['cpu'])} CPU "
            f"(target <= {comparison['limit']}x: {'met' if comparison['met'] else 'NO'})",
        ]
    return "\n".join(rows)


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"
