"""What a pooled server costs while nobody talks to it, and its first turns after that.

``python -m benchmarks.idle`` starts two pooled servers side by side on one fake
upstream (instant mode): **pooled** (as shipped: idle processes frozen after
``POOL_FREEZE_IDLE_SECONDS``) and **awake** (``POOL_FREEZE_IDLE_SECONDS=0``). Each
gets the same team-like traffic: ``--conversations`` stateless conversations at
once, each a first turn and a follow-up, so that its pool holds that many
conversations. Then, each round:

* both servers settle and are left alone for ``--idle`` seconds; over that quiet
  spell the CPU of each server's process tree (its Python and its CLIs, from
  ``/proc``) is read every ``--bucket`` seconds, in the same windows for both:
  the idle cost as a curve of the time since the last turn;
* each server then gets the next turn of every conversation, one after another,
  in an order that alternates by round: the latency of a turn on a process that
  was frozen (pooled) or idle and awake.

It prints Markdown tables and writes ``results/idle-*.json``.
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

from benchmarks import proctree
from benchmarks.contenders import MODEL, ServerContender
from benchmarks.conversation_scenarios import Client, Messages, ask
from benchmarks.run import loopback_upstream, machine, write_results
from benchmarks.stats import summary
from tests.e2e.harness import ServerProcess
from wrapper.config import PoolSettings

FREEZE_AFTER_S = PoolSettings().freeze_after_s
SERVERS = {"pooled": {}, "awake": {"POOL_FREEZE_IDLE_SECONDS": "0"}}


async def _converse(client: Client, messages: Messages, tag: str) -> float:
    """One more turn of ``messages`` (the reply appended to it); its latency."""
    messages.append(ask(f"turn {len(messages) // 2} of {tag}"))
    elapsed, reply = await client.post(messages)
    messages.append({"role": "assistant", "content": reply})
    return elapsed


async def _start(client: Client, conversations: list[Messages], name: str) -> None:
    """Every conversation's first two turns, all conversations at once."""

    async def one(n: int) -> None:
        for _ in range(2):
            await _converse(client, conversations[n], f"{name}-{n}")

    async with anyio.create_task_group() as group:
        for n in range(len(conversations)):
            group.start_soon(one, n)


async def _counts(contender: ServerContender) -> dict[str, Any]:
    processes: dict[str, Any] = (await contender.status())["processes"]
    return processes


async def _quiet_spell(
    contenders: dict[str, ServerContender], args: argparse.Namespace
) -> dict[str, list[dict[str, Any]]]:
    """Each server's CPU, bucket by bucket, over ``--idle`` seconds of no traffic."""
    curves: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    last = {name: c.cpu_seconds() for name, c in contenders.items()}
    began = time.perf_counter()
    while (elapsed := time.perf_counter() - began) < args.idle - 1e-6:
        mark = time.perf_counter()
        await anyio.sleep(min(args.bucket, args.idle - elapsed))
        seconds = time.perf_counter() - mark
        for name, contender in contenders.items():
            now = contender.cpu_seconds()
            python, cli = now[0] - last[name][0], now[1] - last[name][1]
            last[name] = now
            counts = await _counts(contender)
            curves[name].append(
                {
                    "until_s": time.perf_counter() - began,
                    "python_ms_per_s": 1000 * python / seconds,
                    "cli_ms_per_s": 1000 * cli / seconds,
                    "clis": len(proctree.cli_pids(contender.pid)),
                    "frozen": counts.get("frozen", 0),
                }
            )
    return curves


async def measure(servers: dict[str, ServerProcess], args: argparse.Namespace) -> dict[str, Any]:
    contenders = {}
    for name, server in servers.items():
        assert server.process is not None
        contenders[name] = ServerContender(name, server.url, server.process.pid, pooled=True)
    clients = {name: Client(contender) for name, contender in contenders.items()}
    conversations: dict[str, list[Messages]] = {
        name: [[] for _ in range(args.conversations)] for name in servers
    }
    for name, client in clients.items():
        await _start(client, conversations[name], name)
    rounds: list[dict[str, Any]] = []
    for number in range(args.rounds):
        for contender in contenders.values():
            await contender.settle()
        curves = await _quiet_spell(contenders, args)
        row: dict[str, Any] = {name: {"idle": curve} for name, curve in curves.items()}
        order = list(contenders) if number % 2 == 0 else list(reversed(contenders))
        for name in order:
            hits = (await _counts(contenders[name]))["affinity_hits"]
            latencies = [
                await _converse(clients[name], messages, f"{name}-{n}")
                for n, messages in enumerate(conversations[name])
            ]
            served = (await _counts(contenders[name]))["affinity_hits"] - hits
            row[name].update(next_turn_s=latencies, next_turn_affinity_hits=served)
        rounds.append(row)
        print(f"round {number + 1} done", flush=True)
    for contender in contenders.values():
        await contender.aclose()
    return {"rounds": rounds}


def report(document: dict[str, Any]) -> str:
    rounds = document["rounds"]
    args = document["args"]
    buckets = len(rounds[0]["pooled"]["idle"])
    heads = [f"{rounds[0]['pooled']['idle'][n]['until_s']:.0f} s" for n in range(buckets)]
    lines = [
        f"Idle: {args['conversations']} conversations per server, {args['rounds']} rounds; "
        f"freeze after {args['freeze_after_s']:.0f} s (pooled). Tree CPU in ms per second, "
        "the mean of the rounds, by time since the last turn (CLI part in brackets):",
        "",
        "| server | " + " | ".join(heads) + " | CLIs | frozen at the end |",
        "|---|" + "---|" * (buckets + 2),
    ]
    for name in SERVERS:
        cells = []
        for n in range(buckets):
            points = [r[name]["idle"][n] for r in rounds]
            cli = sum(p["cli_ms_per_s"] for p in points) / len(points)
            total = cli + sum(p["python_ms_per_s"] for p in points) / len(points)
            cells.append(f"{total:.1f} ({cli:.1f})")
        clis = max(p["clis"] for r in rounds for p in r[name]["idle"])
        frozen = min(r[name]["idle"][-1]["frozen"] for r in rounds)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {clis} | {frozen} |")
    lines += [
        "",
        "| server | next turn after the quiet spell, p50 / p90 | on the process holding it |",
        "|---|---|---|",
    ]
    for name in SERVERS:
        latency = summary([s for r in rounds for s in r[name]["next_turn_s"]])
        hits = sum(r[name]["next_turn_affinity_hits"] for r in rounds)
        turns = sum(len(r[name]["next_turn_s"]) for r in rounds)
        lines.append(
            f"| {name} | {latency['p50'] * 1000:.0f} / {latency['p90'] * 1000:.0f} ms "
            f"| {hits} of {turns} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--idle", type=float, default=FREEZE_AFTER_S + 30, help="seconds of each quiet spell"
    )
    parser.add_argument("--bucket", type=float, default=5.0, help="seconds per CPU reading")
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="1 round of 12 s, freezing after 3 s")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    freeze = {}
    if args.quick:
        args.rounds, args.idle, args.bucket = 1, 12.0, 4.0
        freeze = {"POOL_FREEZE_IDLE_SECONDS": "3"}
    document_args = {
        "freeze_after_s": float(freeze.get("POOL_FREEZE_IDLE_SECONDS", FREEZE_AFTER_S))
    }
    document: dict[str, Any] = {
        "machine": machine(),
        "args": {
            **{k: getattr(args, k) for k in ("rounds", "idle", "bucket", "conversations", "quick")},
            **document_args,
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, contextlib.ExitStack() as stack:
        home = Path(tmp) / "home"
        home.mkdir()
        upstream = loopback_upstream(stack, home)
        common = {"DEFAULT_MODEL": MODEL, "POOL_MAX_PROCESSES": str(args.conversations + 1)}
        servers = {
            name: stack.enter_context(
                ServerProcess(upstream.url, env={**common, **freeze, **extra})
            )
            for name, extra in SERVERS.items()
        }
        for server in servers.values():
            httpx.get(f"{server.url}/health", timeout=30).raise_for_status()
        document.update(anyio.run(measure, servers, args, backend="asyncio"))
    document["machine"]["loadavg_end"] = os.getloadavg()
    print(report(document), flush=True)
    print(f"load average: start {document['machine']['loadavg_start']}, end {os.getloadavg()}")
    print(f"-- results: {write_results(document, 'idle', args.out)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
