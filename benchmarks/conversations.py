"""``make bench-conversations``: what a request costs by the conversation it carries.

Where ``benchmarks.run`` measures one-shot chats, this measures the requests a
pool can miss, side by side in one run against the same fake upstream:

* ``one-shot``   — one user message (the pool hit every ratio is taken against);
* ``follow-up``  — a stateless client's next turn (its history plus the reply it got);
* ``few-shot``   — the same fixed example turns before a new question each time;
* ``few-shot-chat`` — two exchanges of a chat and a new question under those examples,
  the chat's own turns held by no process;
* ``regenerate`` — the last user message replaced (a client's retry or edit);
* ``session-first`` — the first turn of a server-side session (a new ``session_id``);
* ``session-next``  — the next turn of such a session (only the new message);
* ``unseen-N``   — a history of N user turns that no process has seen (N = 1, 10,
  50, 200: the conversation-length curve);
* ``unseen-agent-10`` — a coding agent's first call with a history of 10 user
  turns, tool calls and their results among them, and 2 function tools;
* ``new-system`` — one user message under a system prompt no process has (a new
  app, a coding agent's new session): a profile the pool holds no process of;
* ``new-agent-10`` — ``unseen-agent-10`` under such a system prompt (a coding
  agent's first call in a new session);

each against ``pooled`` (the server as shipped) and ``cold`` (``POOL_ENABLED=false``:
a CLI spawned per request, the model of the server this one replaces). Contenders
and scenarios alternate batch by batch in a rotating order, so box load drifts
over all of them alike. Then one-shot latency, throughput and CPU against
concurrency 1/4/16/32/64 on the pooled server. Then one-shot traffic on a freshly
started pooled server (``benchmarks/after_restart.py``). CPU is the server's whole
process tree (``benchmarks/proctree.py``) over a batch, background work included.
The scenarios themselves are in ``benchmarks/conversation_scenarios.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

from benchmarks import after_restart
from benchmarks.contenders import MODEL, ServerContender
from benchmarks.conversation_scenarios import SCENARIOS, Client
from benchmarks.run import loopback_upstream, machine, parse_variant, write_results
from benchmarks.stats import ratio, summary
from tests.e2e.harness import ServerProcess

CONCURRENCY = (1, 4, 16, 32, 64)
QUICK_CONCURRENCY = (1, 4, 16)
WARM_CONCURRENCY = 16


async def _spawned(contender: ServerContender) -> int:
    """CLI processes the pooled server has started so far (0 for the cold one)."""
    if not contender.pooled:
        return 0
    return int((await contender.status())["processes"]["spawned"])


async def batch(client: Client, scenario: str, size: int) -> tuple[list[float], float, int]:
    """``size`` requests of ``scenario`` one after another: latencies, CPU-s per request,
    and the CLI processes the pool started meanwhile (a start is ~0.4 CPU-s, counted
    in the batch's CPU: what most of a batch's CPU beyond its turns' is made of)."""
    contender = client.contender
    await client.prepare(scenario, size)  # a conversation to continue, off the record
    await contender.settle()
    spawned = await _spawned(contender)
    cpu_before = sum(contender.cpu_seconds())
    run = SCENARIOS[scenario](client)
    latencies = [await run() for _ in range(size)]
    await contender.settle()
    cpu = (sum(contender.cpu_seconds()) - cpu_before) / size
    return latencies, cpu, await _spawned(contender) - spawned


async def scenarios(clients: list[Client], rounds: int, size: int) -> dict[str, Any]:
    found: dict[str, dict[str, dict[str, list[float]]]] = {}
    names = list(SCENARIOS)
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for scenario in order:
            shift = round_ % len(clients)
            for client in clients[shift:] + clients[:shift]:
                latencies, cpu, spawned = await batch(client, scenario, size)
                entry = found.setdefault(scenario, {}).setdefault(
                    client.contender.name, {"latency_s": [], "cpu_s": [], "spawned": []}
                )
                entry["latency_s"] += latencies
                entry["cpu_s"].append(cpu)
                entry["spawned"].append(spawned)
        print(f"   round {round_ + 1}/{rounds} done", flush=True)
    return {
        scenario: {
            name: {
                "p50_s": summary(entry["latency_s"])["p50"],
                "p90_s": summary(entry["latency_s"])["p90"],
                "cpu_s_per_request": sum(entry["cpu_s"]) / len(entry["cpu_s"]),
                "samples": len(entry["latency_s"]),
                "spawned": sum(entry["spawned"]),
            }
            for name, entry in by_contender.items()
        }
        for scenario, by_contender in found.items()
    }


async def _worker(client: Client, todo: list[int], latencies: list[float]) -> None:
    while todo[0] > 0:
        todo[0] -= 1
        latencies.append(await client.one_shot())


async def _burst(client: Client, level: int, total: int) -> list[float]:
    """``total`` one-shot requests from ``level`` concurrent loops: their latencies."""
    todo = [total]
    latencies: list[float] = []
    async with anyio.create_task_group() as group:
        for _ in range(level):
            group.start_soon(_worker, client, todo, latencies)
    return latencies


async def grown(client: Client) -> None:
    """Grow a pooled server's pool to its steady size, off the record: 16 concurrent
    one-shot requests, twice, as ``benchmarks.run`` warms its pooled server. The pool's
    growth after a start is then no scenario's cost (the restart phase measures it)."""
    for _ in range(2):
        await _burst(client, WARM_CONCURRENCY, WARM_CONCURRENCY * 2)
    await client.contender.settle()


async def rehearsed(client: Client) -> int:
    """Every scenario once, off the record, on a grown pool: the spares the pool keeps
    beside conversations it holds (once follow-ups show holding pays) are started here
    rather than in the first round's batches. Returns the processes it started."""
    spawned = await _spawned(client.contender)
    for scenario, make in SCENARIOS.items():
        await client.prepare(scenario, 1)
        await make(client)()
    await client.contender.settle()
    return await _spawned(client.contender) - spawned


async def _level(client: Client, level: int, per_level: int) -> dict[str, Any]:
    """One-shot requests from ``level`` concurrent loops on one server."""
    contender = client.contender
    total = max(per_level, 2 * level)
    await contender.settle()
    spawned = await _spawned(contender)
    cpu_before = sum(contender.cpu_seconds())
    started = time.perf_counter()
    latencies = await _burst(client, level, total)
    wall = time.perf_counter() - started
    await contender.settle()
    cpu = sum(contender.cpu_seconds()) - cpu_before
    stats = summary(latencies)
    print(f"   {contender.name} c{level}: {total / wall:.1f} req/s", flush=True)
    return {
        "requests": total,
        "p50_s": stats["p50"],
        "p90_s": stats["p90"],
        "requests_per_s": total / wall,
        "cpu_s_per_request": cpu / total,
        "spawned": await _spawned(contender) - spawned,
    }


async def concurrency(
    clients: list[Client], levels: tuple[int, ...], per_level: int
) -> dict[str, dict[str, Any]]:
    """Each level on each pooled server in turn (the order rotating by level), so that
    a variant's figures are side by side with ``pooled``'s: by server, then level."""
    results: dict[str, dict[str, Any]] = {client.contender.name: {} for client in clients}
    for n, level in enumerate(levels):
        shift = n % len(clients)
        for client in clients[shift:] + clients[:shift]:
            results[client.contender.name][str(level)] = await _level(client, level, per_level)
    return results


# The speed targets this run measures, as same-run ratios to a pool hit (one-shot).
TARGETS = (("few-shot", 2.0), ("unseen-10", 2.0), ("unseen-agent-10", 2.0), ("session-first", 1.5))


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target's latency and CPU ratio to a pool hit, and whether both are met."""
    table = result["scenarios"]
    hit = table["one-shot"]["pooled"]
    found = []
    for scenario, limit in TARGETS:
        if scenario not in table:
            continue
        pooled = table[scenario]["pooled"]
        latency = ratio(pooled["p50_s"], hit["p50_s"])
        cpu = ratio(pooled["cpu_s_per_request"], hit["cpu_s_per_request"])
        met = latency is not None and cpu is not None and max(latency, cpu) <= limit
        found.append(
            {"scenario": scenario, "limit": limit, "latency": latency, "cpu": cpu, "met": met}
        )
    return found


def report(result: dict[str, Any]) -> str:
    rows = [
        "| request | pooled p50 | pooled CPU-s | vs pool hit (latency / CPU) | pool starts "
        "| cold p50 | cold CPU-s | cold / pooled |",
        "|---|---|---|---|---|---|---|---|",
    ]
    table = result["scenarios"]
    hit = table["one-shot"]["pooled"]
    for scenario, by in table.items():
        pooled, cold = by["pooled"], by["cold"]
        rows.append(
            f"| {scenario} | {pooled['p50_s'] * 1000:.0f} ms | {pooled['cpu_s_per_request']:.3f} "
            f"| {_x(ratio(pooled['p50_s'], hit['p50_s']))} / "
            f"{_x(ratio(pooled['cpu_s_per_request'], hit['cpu_s_per_request']))} "
            f"| {pooled.get('spawned', 0)} of {pooled['samples']} "
            f"| {cold['p50_s'] * 1000:.0f} ms | {cold['cpu_s_per_request']:.3f} "
            f"| {_x(ratio(cold['p50_s'], pooled['p50_s']))} |"
        )
    warm_up = result.get("warm_up_spawned")
    if warm_up:
        started = ", ".join(f"{name} {count}" for name, count in warm_up.items())
        rows += ["", f"Pool starts in the warm-up round (off the record): {started}."]
    variants = [name for name in table["one-shot"] if name not in ("pooled", "cold")]
    for name in variants:
        rows += [
            "",
            f"| request | {name} p50 | {name} CPU-s | {name} / pooled (latency / CPU) |",
            "|---|---|---|---|",
        ]
        for scenario, by in table.items():
            pooled, other = by["pooled"], by[name]
            rows.append(
                f"| {scenario} | {other['p50_s'] * 1000:.0f} ms | "
                f"{other['cpu_s_per_request']:.3f} | {_x(ratio(other['p50_s'], pooled['p50_s']))}"
                f" / {_x(ratio(other['cpu_s_per_request'], pooled['cpu_s_per_request']))} |"
            )
    rows += [
        "",
        "| concurrency | req/s | p50 | p90 | CPU-s/req | pool starts |",
        "|---|---|---|---|---|---|",
    ]
    for level, entry in result["concurrency"].items():
        rows.append(
            f"| {level} | {entry['requests_per_s']:.1f} | {entry['p50_s'] * 1000:.0f} ms "
            f"| {entry['p90_s'] * 1000:.0f} ms | {entry['cpu_s_per_request']:.3f} "
            f"| {entry.get('spawned', 0)} |"
        )
    for name, levels in result.get("concurrency_variants", {}).items():
        rows += [
            "",
            f"| concurrency | {name} req/s | pooled req/s | {name} / pooled "
            f"| {name} CPU-s/req | pooled CPU-s/req | {name} pool starts |",
            "|---|---|---|---|---|---|---|",
        ]
        for level, entry in levels.items():
            base = result["concurrency"][level]
            rows.append(
                f"| {level} | {entry['requests_per_s']:.1f} | {base['requests_per_s']:.1f} "
                f"| {_x(ratio(entry['requests_per_s'], base['requests_per_s']))} "
                f"| {entry['cpu_s_per_request']:.3f} | {base['cpu_s_per_request']:.3f} "
                f"| {entry.get('spawned', 0)} |"
            )
    rows += ["", "| target (x a pool hit) | latency | CPU | met |", "|---|---|---|---|"]
    for target in targets(result):
        rows.append(
            f"| {target['scenario']} <= {target['limit']:g}x | {_x(target['latency'])} "
            f"| {_x(target['cpu'])} | {'yes' if target['met'] else 'NO'} |"
        )
    restart = result.get("after_restart")
    if restart:
        rows += ["", "One-shot traffic after a restart (a fresh pooled server):"]
        rows.append(after_restart.report(restart))
    gated = result.get("gated_restart")
    if gated:
        rows += ["", after_restart.gated_report(gated)]
    return "\n".join(rows)


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


async def measure(
    servers: dict[str, ServerProcess], upstream_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    clients = []
    for name, server in servers.items():
        assert server.process is not None
        pid = server.process.pid
        clients.append(Client(ServerContender(name, server.url, pid, pooled=name != "cold")))
    try:
        warm_up: dict[str, int] = {}
        for client in clients:  # warm up, off the record
            await client.one_shot()
            await client.few_shot()
            if client.contender.pooled:
                await grown(client)
                warm_up[client.contender.name] = await rehearsed(client)
        print("-- scenarios", flush=True)
        result: dict[str, Any] = {"scenarios": await scenarios(clients, args.rounds, args.size)}
        result["warm_up_spawned"] = warm_up
        print("-- concurrency (one-shot, each pooled server)", flush=True)
        levels = QUICK_CONCURRENCY if args.quick else CONCURRENCY
        pooled = [client for client in clients if client.contender.pooled]
        by_server = await concurrency(pooled, levels, args.per_level)
        result["concurrency"] = by_server.pop("pooled")
        if by_server:
            result["concurrency_variants"] = by_server
        result["pool_status"] = await clients[0].contender.status()
        if not args.skip_restart:
            print("-- one-shot traffic after a restart (a fresh pooled server)", flush=True)
            for client in clients:  # the long-running servers stay out of its way
                await client.contender.settle()
            restart = await after_restart.after_restart(upstream_url)
            restart["vs_settled"] = after_restart.compare(
                restart, result["scenarios"]["one-shot"]["pooled"]
            )
            result["after_restart"] = restart
            result["gated_restart"] = await after_restart.gated_restart(upstream_url)
    finally:
        for client in clients:
            await client.contender.aclose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=3, help="requests per batch")
    parser.add_argument("--per-level", type=int, default=32, help="requests per concurrency level")
    parser.add_argument("--skip-restart", action="store_true", help="skip the restart phase")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 1 round of 2, 8 per level, c1/4/16"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:VAR=VALUE[,VAR=VALUE]",
        help="an extra pooled server with these settings, alive beside the others and "
        "measured in the same rotation (repeatable), e.g. 'no-unbound:POOL_UNBOUND_SPARES=0'",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.size, args.per_level = 1, 2, 8
    document: dict[str, Any] = {
        "machine": machine(),
        "args": {"rounds": args.rounds, "size": args.size, "quick": args.quick},
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, contextlib.ExitStack() as stack:
        home = Path(tmp) / "home"
        home.mkdir()
        upstream = loopback_upstream(stack, home)
        servers = {
            name: stack.enter_context(
                ServerProcess(upstream.url, env={"DEFAULT_MODEL": MODEL, **extra})
            )
            for name, extra in (
                ("pooled", {}),
                ("cold", {"POOL_ENABLED": "false"}),
                *(parse_variant(text) for text in args.variant),
            )
        }
        httpx.get(f"{servers['pooled'].url}/health", timeout=30).raise_for_status()
        document.update(anyio.run(measure, servers, upstream.url, args, backend="asyncio"))
    document["machine"]["loadavg_end"] = os.getloadavg()
    document["targets"] = targets(document)
    print(report(document), flush=True)
    print(f"load average: start {document['machine']['loadavg_start']}, end {os.getloadavg()}")
    print(f"-- results: {write_results(document, 'conversations', args.out)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
