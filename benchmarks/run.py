"""``make bench``: the whole benchmark in one run; a table to stdout, JSON under results/.

Contenders (alternated round by round, all alive for the whole run):

* ``pooled``   — the server as shipped (warm pool on), over HTTP;
* ``pool-off`` — the server with ``POOL_ENABLED=false`` (one cold CLI per turn);
* ``floor``    — one connected ``ClaudeSDKClient`` in this process, with the
  options the server builds for a plain chat;
* ``floor-reset`` — the same floor, its conversation emptied after every turn
  the way the pool resets a process (a rewind to the first user message).

Upstream modes: ``instant`` (50 words sent as fast as possible) and ``paced``
(the same 50 words at 50 tokens/s). Then the framework floor (``GET /health``)
and the upstream-cost report. Traffic only ever goes to 127.0.0.1.

Sizes are flags (see ``--help``), each with an environment default
(``BENCH_ROUNDS``, ``BENCH_SEQUENTIAL``...).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import anyio
import claude_agent_sdk
import httpx

from benchmarks import proctree, report
from benchmarks.contenders import (
    MODEL,
    Contender,
    FloorContender,
    FloorResetContender,
    ServerContender,
)
from benchmarks.framework import health_floor
from benchmarks.measure import Plan, Record, sequential, throughput, warm_up
from benchmarks.proctree import PeakRss
from benchmarks.upstream import INSTANT_MARKER, PACED_MARKER, UpstreamProcess
from benchmarks.upstream_cost import upstream_cost
from tests.e2e.harness import ServerProcess, clean_env
from wrapper.logging import configure_logging

RESULTS = Path(__file__).resolve().parent / "results"
MODES = {"instant": INSTANT_MARKER, "paced": PACED_MARKER}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--rounds",
        type=int,
        default=_env_int("BENCH_ROUNDS", 3),
        help="rounds per phase; contenders take turns within each round (BENCH_ROUNDS)",
    )
    add(
        "--sequential",
        type=int,
        default=_env_int("BENCH_SEQUENTIAL", 10),
        help="instant mode: non-stream and stream requests per batch (BENCH_SEQUENTIAL)",
    )
    add(
        "--throughput",
        type=int,
        default=_env_int("BENCH_THROUGHPUT", 40),
        help="instant mode: requests per throughput batch (BENCH_THROUGHPUT)",
    )
    add(
        "--paced-sequential",
        type=int,
        default=_env_int("BENCH_PACED_SEQUENTIAL", 4),
        help="paced mode: requests per latency batch (BENCH_PACED_SEQUENTIAL)",
    )
    add(
        "--paced-throughput",
        type=int,
        default=_env_int("BENCH_PACED_THROUGHPUT", 4),
        help="paced mode: requests per throughput batch, at least the concurrency "
        "(BENCH_PACED_THROUGHPUT)",
    )
    add(
        "--cold-share",
        type=float,
        default=float(os.environ.get("BENCH_COLD_SHARE", "0.34")),
        help="share of the requests the pool-off server gets (BENCH_COLD_SHARE)",
    )
    add(
        "--modes",
        default=os.environ.get("BENCH_MODES", "instant,paced"),
        help="upstream modes to run: instant, paced (BENCH_MODES)",
    )
    add(
        "--health-seconds",
        type=float,
        default=float(os.environ.get("BENCH_HEALTH_S", "5")),
        help="duration of each GET /health load (BENCH_HEALTH_S)",
    )
    add(
        "--cost-repeats",
        type=int,
        default=_env_int("BENCH_COST_REPEATS", 2),
        help="runs of each single-request cost scenario (BENCH_COST_REPEATS)",
    )
    add(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:VAR=VALUE[,VAR=VALUE]",
        help="an extra server contender with these environment variables, e.g. "
        "'pool-2:POOL_MAX_PROCESSES=2' (repeatable; for trying settings)",
    )
    add("--skip-health", action="store_true", help="skip the framework floor")
    add("--skip-cost", action="store_true", help="skip the upstream-cost report")
    add("--skip-timing", action="store_true", help="skip the timed phases")
    add("--quick", action="store_true", help="tiny sizes: a smoke run of every phase")
    add("--out", type=Path, default=None, help="the JSON file (default: results/bench-<time>.json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.sequential, args.throughput = 1, 3, 8
        args.paced_sequential, args.paced_throughput = 1, 1
        args.health_seconds, args.cost_repeats = 1.0, 1
    return args


def loopback_environment(upstream_url: str, home: str) -> dict[str, str]:
    """This process's environment, reduced so that it (and the floor's CLI) only reaches
    loopback: the same cleaning the e2e harness applies to the server."""
    return clean_env(upstream_url, home)


def loopback_only(home: Path) -> None:
    """Reduce this process's environment to loopback only: everything started after
    this (servers, the fake, the floor's CLI) sees nothing else."""
    os.environ.clear()
    os.environ.update(loopback_environment("http://127.0.0.1:9", str(home)))


def loopback_upstream(stack: contextlib.ExitStack, home: Path) -> UpstreamProcess:
    """:func:`loopback_only`, then the fake upstream started in ``stack`` and the
    environment pointed at it."""
    loopback_only(home)
    upstream = stack.enter_context(UpstreamProcess(dict(os.environ)))
    os.environ.update(loopback_environment(upstream.url, str(home)))
    return upstream


def write_results(document: dict[str, Any], prefix: str, out: Path | None) -> Path:
    """Write ``document`` as strict JSON to ``out``, by default to a new
    ``results/<prefix>-<time>.json``; returns where."""
    out = out or RESULTS / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_finite(document), indent=2, default=_jsonable))
    return out


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=RESULTS.parent.parent, capture_output=True, text=True, check=False
        )
    except OSError:
        return "?"
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    return {
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--", "wrapper")),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "claude_agent_sdk": getattr(claude_agent_sdk, "__version__", "?"),
        "loadavg_start": os.getloadavg(),
    }


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, assignments = text.partition(":")
    env = dict(item.split("=", 1) for item in assignments.split(",") if "=" in item)
    if not name or not env:
        raise SystemExit(f"--variant {text!r}: expected NAME:VAR=VALUE[,VAR=VALUE]")
    return name, env


async def timed_modes(
    args: argparse.Namespace, contenders: list[Contender], peak: PeakRss, upstream_pid: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    base = Plan(rounds=args.rounds, cold_share=args.cold_share)
    plans = {
        "instant": replace(base, sequential=args.sequential, throughput=args.throughput),
        "paced": replace(base, sequential=args.paced_sequential, throughput=args.paced_throughput),
    }
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        marker, plan = MODES[mode], plans[mode]
        load = os.getloadavg()[0]
        busy = " (the box is busy: expect noisy figures)" if load > 1.5 else ""
        print(f"-- {mode}: warming up; load average {load:.2f}{busy}", flush=True)
        started = time.monotonic()
        await warm_up(contenders, marker, max(plan.concurrency))
        peak.take()
        records = {c.name: Record() for c in contenders}
        status_before = await _pool_status(contenders)
        helpers_before = proctree.cpu_seconds([upstream_pid]), time.process_time()
        print(f"-- {mode}: latency (sequential)", flush=True)
        await sequential(contenders, records, plan, marker)
        print(f"-- {mode}: throughput at {plan.concurrency}", flush=True)
        await throughput(contenders, records, plan, marker)
        peaks = peak.take()
        served = sum(w.requests for r in records.values() for w in r.cpu.values())
        upstream_cpu = proctree.cpu_seconds([upstream_pid]) - helpers_before[0]
        bench_cpu = time.process_time() - helpers_before[1]
        mode_result: dict[str, Any] = {
            name: report.summarise(record, peaks.get(name)) for name, record in records.items()
        }
        mode_result["contenders"] = [c.name for c in contenders]
        mode_result["helpers"] = {
            "requests": served,
            "upstream_cpu_s_per_request": upstream_cpu / served if served else None,
            "bench_cpu_s_per_request": bench_cpu / served if served else None,
            "upstream_peak_rss_bytes": peaks.get("upstream"),
        }
        mode_result["ratios"] = report.ratios(mode_result)
        mode_result["targets"] = report.targets(mode_result, paced=mode == "paced")
        mode_result["plan"] = asdict(plan)
        mode_result["pool_status"] = {
            "before": status_before,
            "after": await _pool_status(contenders),
        }
        mode_result["seconds"] = time.monotonic() - started
        mode_result["loadavg"] = {"start": load, "end": os.getloadavg()[0]}
        results[mode] = mode_result
        print(report.mode_text(mode, mode_result), flush=True)
    return results


async def _pool_status(contenders: list[Contender]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for contender in contenders:
        if isinstance(contender, ServerContender):
            found[contender.name] = await contender.status()
    return found


async def run_timed(
    args: argparse.Namespace, servers: dict[str, Any], upstream_pid: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    http = {
        name: ServerContender(
            name, server.url, server.process.pid, pooled=server.env.get("POOL_ENABLED") != "false"
        )
        for name, server in servers.items()
    }
    pooled = http["pooled"]
    floor = FloorContender()
    floor_reset = FloorResetContender()
    peak = PeakRss()
    try:
        if not args.skip_timing:
            await floor.start()
            await floor_reset.start()
            results["floor_connect_s"] = floor.connect_s
            results["floor_reset_connect_s"] = floor_reset.connect_s
            contenders: list[Contender] = [http["pooled"], http["pool-off"], floor, floor_reset]
            contenders += [c for name, c in http.items() if name not in ("pooled", "pool-off")]
            for contender in contenders:
                peak.watch(contender.name, contender.rss_roots, contender.rss_solo())
            peak.watch("upstream", lambda: [upstream_pid])
            peak.start()
            results["modes"] = await timed_modes(args, contenders, peak, upstream_pid)
        if not args.skip_health:
            print("-- framework floor: GET /health", flush=True)
            health = await health_floor(pooled.url, pooled.pid, duration_s=args.health_seconds)
            results["health"] = health
            print(report.health_text(health), flush=True)
        version = (await pooled.http.get("/version")).json()
        results["versions"] = version
        results["floor_reset_resets"] = {
            "resets": floor_reset.resets,
            "failed": floor_reset.failed_resets,
        }
    finally:
        peak.stop()
        await floor.aclose()
        await floor_reset.aclose()
        for contender in http.values():
            await contender.aclose()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # floor-reset drives the pool's own process class, which logs each spawn and stop.
    configure_logging("console", "warning")
    started = time.monotonic()
    document: dict[str, Any] = {
        "machine": machine(),
        "model": MODEL,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, contextlib.ExitStack() as stack:
        home = Path(tmp) / "home"
        home.mkdir()
        if args.skip_timing and args.skip_health:
            loopback_only(home)  # the cost phase starts servers and fakes of its own
        else:
            upstream = loopback_upstream(stack, home)
            servers: dict[str, Any] = {}
            variants = [("pooled", {}), ("pool-off", {"POOL_ENABLED": "false"})]
            variants += [parse_variant(text) for text in args.variant]
            for name, extra in variants:
                print(f"-- starting the {name} server", flush=True)
                env = {"DEFAULT_MODEL": MODEL, **extra}
                servers[name] = stack.enter_context(ServerProcess(upstream.url, env=env))
            _wait_clean(servers["pooled"].url)
            document.update(anyio.run(run_timed, args, servers, upstream.pid, backend="asyncio"))
            stack.close()
        if not args.skip_cost:
            print("-- upstream cost", flush=True)
            cost = upstream_cost(args.cost_repeats, ("pooled", "pool-off"))
            document["upstream_cost"] = cost
            print(report.cost_text(cost), flush=True)
    document["machine"]["loadavg_end"] = os.getloadavg()
    document["seconds"] = time.monotonic() - started
    out = write_results(document, "bench", args.out)
    print(f"-- done in {document['seconds']:.0f} s; results: {out}", flush=True)
    return 0


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def _wait_clean(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = httpx.get(f"{url}/v1/pool/status", timeout=10).json()
        if status["processes"].get("clean", 0) >= 1:
            return
        time.sleep(0.05)
    raise RuntimeError("the pooled server has no warm process")


if __name__ == "__main__":
    sys.exit(main())
