"""What a pooled server costs while nobody talks to it, and its first turns after that.

``python -m benchmarks.idle`` starts two pooled servers side by side on one fake
upstream (instant mode): **pooled** (as shipped: idle processes frozen after
``POOL_FREEZE_IDLE_SECONDS``) and **awake** (``POOL_FREEZE_IDLE_SECONDS=0``). Each
gets the same team-like traffic: ``--conversations`` stateless conversations at
once, each a first turn and a follow-up, so that its pool holds that many
conversations. Then, each round:

* both servers settle, and are left alone for longer than the freeze limit;
* over one shared ``--window`` of seconds, the CPU of each server's process tree
  (its Python and its CLIs, from ``/proc``) is read: the idle cost, side by side;
* each server then gets the next turn of every conversation, one after another,
  in an order that alternates by round: the latency of a turn on a process that
  was frozen (pooled) or idle and awake.

It prints Markdown tables and writes ``results/idle-*.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
from benchmarks.run import RESULTS, loopback_environment, machine
from benchmarks.stats import ratio, summary
from benchmarks.upstream import UpstreamProcess
from tests.e2e.harness import ServerProcess
from wrapper.config import PoolSettings

FREEZE_AFTER_S = PoolSettings().freeze_after_s
# Past the freeze limit, with a maintenance interval (1 s) to spare.
IDLE_BEFORE_S = FREEZE_AFTER_S + 2.5
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
        await anyio.sleep(IDLE_BEFORE_S)
        before = {name: c.cpu_seconds() for name, c in contenders.items()}
        started = time.perf_counter()
        await anyio.sleep(args.window)
        seconds = time.perf_counter() - started
        after = {name: c.cpu_seconds() for name, c in contenders.items()}
        row: dict[str, Any] = {"window_s": seconds, "servers": {}}
        for name, contender in contenders.items():
            python = after[name][0] - before[name][0]
            cli = after[name][1] - before[name][1]
            counts = await _counts(contender)
            row["servers"][name] = {
                "cpu_ms_per_s": 1000 * (python + cli) / seconds,
                "python_ms_per_s": 1000 * python / seconds,
                "cli_ms_per_s": 1000 * cli / seconds,
                "clis": len(proctree.cli_pids(contender.pid)),
                "frozen": counts.get("frozen", 0),
                "held": counts.get("held", 0),
            }
        order = list(contenders) if number % 2 == 0 else list(reversed(contenders))
        for name in order:
            hits = (await _counts(contenders[name]))["affinity_hits"]
            latencies = [
                await _converse(clients[name], messages, f"{name}-{n}")
                for n, messages in enumerate(conversations[name])
            ]
            served = (await _counts(contenders[name]))["affinity_hits"] - hits
            row["servers"][name].update(next_turn_s=latencies, next_turn_affinity_hits=served)
        rounds.append(row)
        print(f"round {number + 1}: {json.dumps(row['servers'], default=str)[:400]}", flush=True)
    for contender in contenders.values():
        await contender.aclose()
    return {"rounds": rounds}


def report(document: dict[str, Any]) -> str:
    rounds = document["rounds"]
    lines = [
        f"Idle: {document['args']['conversations']} conversations per server, "
        f"{document['args']['rounds']} rounds of {document['args']['window']:.0f} s",
        "",
        "| server | idle CPU ms/s (per round) | of which CLI | CLIs | frozen "
        "| next turn p50 / p90 | next turns on their process |",
        "|---|---|---|---|---|---|---|",
    ]
    totals: dict[str, float] = {}
    for name in SERVERS:
        rows = [r["servers"][name] for r in rounds]
        cpu = [r["cpu_ms_per_s"] for r in rows]
        totals[name] = sum(cpu) / len(cpu)
        latency = summary([s for r in rows for s in r["next_turn_s"]])
        hits = sum(r["next_turn_affinity_hits"] for r in rows)
        turns = sum(len(r["next_turn_s"]) for r in rows)
        cpu_text = " / ".join(f"{v:.1f}" for v in cpu)
        cli_text = " / ".join(f"{r['cli_ms_per_s']:.1f}" for r in rows)
        lines.append(
            f"| {name} | {cpu_text} | {cli_text} | "
            f"{max(r['clis'] for r in rows)} | {max(r['frozen'] for r in rows)} | "
            f"{latency['p50'] * 1000:.0f} / {latency['p90'] * 1000:.0f} ms | {hits} of {turns} |"
        )
    share = ratio(totals["pooled"], totals["awake"])
    lines += ["", f"idle CPU, pooled / awake: {'n/a' if share is None else f'{share:.2f}'}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=float, default=20.0, help="seconds of idle CPU")
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="1 round of 5 s")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.window = 1, 5.0
    document: dict[str, Any] = {
        "machine": machine(),
        "args": {k: getattr(args, k) for k in ("rounds", "window", "conversations", "quick")},
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, contextlib.ExitStack() as stack:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ.clear()
        os.environ.update(loopback_environment("http://127.0.0.1:9", str(home)))
        upstream = stack.enter_context(UpstreamProcess(dict(os.environ)))
        os.environ.update(loopback_environment(upstream.url, str(home)))
        common = {"DEFAULT_MODEL": MODEL, "POOL_MAX_PROCESSES": str(args.conversations + 1)}
        servers = {
            name: stack.enter_context(ServerProcess(upstream.url, env={**common, **extra}))
            for name, extra in SERVERS.items()
        }
        for server in servers.values():
            httpx.get(f"{server.url}/health", timeout=30).raise_for_status()
        document.update(anyio.run(measure, servers, args, backend="asyncio"))
    document["machine"]["loadavg_end"] = os.getloadavg()
    print(report(document), flush=True)
    print(f"load average: start {document['machine']['loadavg_start']}, end {os.getloadavg()}")
    out = args.out or RESULTS / f"idle-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2))
    print(f"-- results: {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
