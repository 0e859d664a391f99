"""The framework floor: ``GET /health`` throughput on one hypercorn worker.

``/health`` does no backend work, so this is what the HTTP layer (hypercorn +
our ASGI app) can do on this box: if it is far above the chat throughput, the
HTTP layer is not the bottleneck. ``wrk`` is used when installed (it is light
and written in C); otherwise, or in addition, an httpx async load loop (much
heavier per request on the client side, so it understates the server).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from typing import Any

import anyio
import httpx

from benchmarks import proctree
from benchmarks.stats import summary


def _seconds(value: str, unit: str) -> float:
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]
    return float(value) * scale


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s and latency percentiles from ``wrk --latency`` output."""
    result: dict[str, Any] = {}
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found:
        result["requests_per_s"] = float(found.group(1))
    for pct, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M):
        result[f"p{pct}_s"] = _seconds(value, unit)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    return result


def run_wrk(url: str, connections: int, duration_s: float) -> dict[str, Any] | None:
    """``wrk`` on ``url`` (one thread), or None when wrk is not installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    command = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--latency",
        url,
    ]
    output = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=duration_s + 30
    )
    result = parse_wrk(output.stdout)
    result["tool"] = "wrk"
    return result


async def run_httpx(url: str, connections: int, duration_s: float) -> dict[str, Any]:
    """An httpx async load loop: ``connections`` workers for ``duration_s``."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        stop_at = time.perf_counter() + duration_s

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                response = await client.get(url)
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    failures += 1

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(connections):
                group.start_soon(worker)
        elapsed = time.perf_counter() - started
    stats = summary(latencies)
    return {
        "tool": "httpx",
        "requests_per_s": len(latencies) / elapsed,
        "p50_s": stats["p50"],
        "p90_s": stats["p90"],
        "non_2xx": failures,
    }


async def health_floor(
    base_url: str, server_pid: int, *, connections: int = 16, duration_s: float = 5.0
) -> dict[str, Any]:
    """``GET /health`` throughput by wrk (when installed) and by the httpx loop,
    with the server's CPU seconds per request for each."""
    url = f"{base_url}/health"
    results: dict[str, Any] = {"connections": connections, "duration_s": duration_s}
    cpu_before = proctree.cpu_seconds([server_pid])
    wrk = await anyio.to_thread.run_sync(run_wrk, url, connections, duration_s)
    if wrk is not None:
        served = wrk.get("requests_per_s", 0.0) * duration_s
        cpu = proctree.cpu_seconds([server_pid]) - cpu_before
        wrk["server_cpu_s_per_request"] = cpu / served if served else None
        results["wrk"] = wrk
    else:
        results["wrk"] = {"tool": "wrk", "missing": True}
    cpu_before = proctree.cpu_seconds([server_pid])
    loop = await run_httpx(url, connections, duration_s)
    served = loop["requests_per_s"] * duration_s
    cpu = proctree.cpu_seconds([server_pid]) - cpu_before
    loop["server_cpu_s_per_request"] = cpu / served if served else None
    results["httpx"] = loop
    return results
