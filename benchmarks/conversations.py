"""``make bench-conversations``: what a request costs by the conversation it carries.

Where ``benchmarks.run`` measures one-shot chats, this measures the requests a
pool can miss, side by side in one run against the same fake upstream:

* ``one-shot``   — one user message (the pool hit every ratio is taken against);
* ``follow-up``  — a stateless client's next turn (its history plus the reply it got);
* ``few-shot``   — the same fixed example turns before a new question each time;
* ``regenerate`` — the last user message replaced (a client's retry or edit);
* ``unseen-N``   — a history of N user turns that no process has seen (N = 1, 10,
  50, 200: the conversation-length curve);

each against ``pooled`` (the server as shipped) and ``cold`` (``POOL_ENABLED=false``:
a CLI spawned per request, the model of the server this one replaces). Contenders
and scenarios alternate batch by batch in a rotating order, so box load drifts
over all of them alike. Then one-shot latency, throughput and CPU against
concurrency 1/4/16/32/64 on the pooled server. CPU is the server's whole
process tree (``benchmarks/proctree.py``) over a batch, background work included.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx

from benchmarks.contenders import MODEL, ServerContender
from benchmarks.run import RESULTS, loopback_environment, machine
from benchmarks.stats import ratio, summary
from benchmarks.upstream import INSTANT_MARKER, UpstreamProcess
from tests.e2e.harness import ServerProcess

Messages = list[dict[str, str]]
EXAMPLES: Messages = [
    message
    for n in range(5)
    for message in (
        {"role": "user", "content": f"Example question {n}: is {n} even?"},
        {"role": "assistant", "content": "yes" if n % 2 == 0 else "no"},
    )
]
LENGTHS = (1, 10, 50, 200)
CONCURRENCY = (1, 4, 16, 32, 64)


def _ask(text: str) -> dict[str, str]:
    return {"role": "user", "content": f"{text} {INSTANT_MARKER}"}


def history(turns: int, tag: str) -> Messages:
    """``turns`` user messages with the assistant's replies between them, ending with a user's."""
    messages: Messages = []
    for n in range(turns - 1):
        messages.append({"role": "user", "content": f"turn {n} of {tag}"})
        messages.append({"role": "assistant", "content": f"reply {n} of {tag}"})
    messages.append(_ask(f"last turn of {tag}"))
    return messages


class Client:
    """One contender's HTTP client and the conversation state its scenarios keep."""

    def __init__(self, contender: ServerContender) -> None:
        self.contender = contender
        self.last: Messages | None = None

    async def post(self, messages: Messages) -> tuple[float, str]:
        body = {"model": MODEL, "messages": messages}
        started = time.perf_counter()
        response = await self.contender.http.post("/v1/chat/completions", json=body)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{self.contender.name}: HTTP {response.status_code}")
        return elapsed, response.json()["choices"][0]["message"]["content"] or ""

    async def one_shot(self) -> float:
        return (await self.post([_ask(f"Say hi {uuid.uuid4().hex[:8]}")]))[0]

    async def follow_up(self) -> float:
        if self.last is None or len(self.last) > 20:
            self.last = [_ask(f"Start {uuid.uuid4().hex[:8]}")]
            _, reply = await self.post(self.last)  # off the clock: the conversation's start
            self.last.append({"role": "assistant", "content": reply})
        messages = [*self.last, _ask(f"and then {uuid.uuid4().hex[:8]}")]
        elapsed, reply = await self.post(messages)
        self.last = [*messages, {"role": "assistant", "content": reply}]
        return elapsed

    async def few_shot(self) -> float:
        return (await self.post([*EXAMPLES, _ask(f"Is {uuid.uuid4().hex[:8]} even?")]))[0]

    async def regenerate(self) -> float:
        if self.last is None:
            await self.follow_up()
        assert self.last is not None
        messages = [*self.last[:-2], _ask(f"instead {uuid.uuid4().hex[:8]}")]
        elapsed, reply = await self.post(messages)
        self.last = [*messages, {"role": "assistant", "content": reply}]
        return elapsed

    def unseen(self, turns: int) -> Callable[[], Any]:
        async def run() -> float:
            return (await self.post(history(turns, uuid.uuid4().hex[:8])))[0]

        return run


def _unseen(turns: int) -> Callable[[Client], Callable[[], Any]]:
    return lambda client: client.unseen(turns)


SCENARIOS: dict[str, Callable[[Client], Callable[[], Any]]] = {
    "one-shot": lambda c: c.one_shot,
    "follow-up": lambda c: c.follow_up,
    "few-shot": lambda c: c.few_shot,
    "regenerate": lambda c: c.regenerate,
    **{f"unseen-{n}": _unseen(n) for n in LENGTHS},
}


async def batch(client: Client, scenario: str, size: int) -> tuple[list[float], float]:
    """``size`` requests of ``scenario`` one after another; latencies and CPU-s per request."""
    contender = client.contender
    await contender.settle()
    cpu_before = sum(contender.cpu_seconds())
    run = SCENARIOS[scenario](client)
    latencies = [await run() for _ in range(size)]
    await contender.settle()
    return latencies, (sum(contender.cpu_seconds()) - cpu_before) / size


async def scenarios(clients: list[Client], rounds: int, size: int) -> dict[str, Any]:
    found: dict[str, dict[str, dict[str, list[float]]]] = {}
    names = list(SCENARIOS)
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for scenario in order:
            for client in clients[round_ % 2 :] + clients[: round_ % 2]:
                latencies, cpu = await batch(client, scenario, size)
                entry = found.setdefault(scenario, {}).setdefault(
                    client.contender.name, {"latency_s": [], "cpu_s": []}
                )
                entry["latency_s"] += latencies
                entry["cpu_s"].append(cpu)
        print(f"   round {round_ + 1}/{rounds} done", flush=True)
    return {
        scenario: {
            name: {
                "p50_s": summary(entry["latency_s"])["p50"],
                "p90_s": summary(entry["latency_s"])["p90"],
                "cpu_s_per_request": sum(entry["cpu_s"]) / len(entry["cpu_s"]),
                "samples": len(entry["latency_s"]),
            }
            for name, entry in by_contender.items()
        }
        for scenario, by_contender in found.items()
    }


async def _worker(client: Client, todo: list[int], latencies: list[float]) -> None:
    while todo[0] > 0:
        todo[0] -= 1
        latencies.append(await client.one_shot())


async def concurrency(client: Client, levels: tuple[int, ...], per_level: int) -> dict[str, Any]:
    contender = client.contender
    results: dict[str, Any] = {}
    for level in levels:
        total = max(per_level, 2 * level)
        latencies: list[float] = []
        await contender.settle()
        cpu_before = sum(contender.cpu_seconds())
        started = time.perf_counter()
        todo = [total]
        async with anyio.create_task_group() as group:
            for _ in range(level):
                group.start_soon(_worker, client, todo, latencies)
        wall = time.perf_counter() - started
        await contender.settle()
        cpu = sum(contender.cpu_seconds()) - cpu_before
        stats = summary(latencies)
        results[str(level)] = {
            "requests": total,
            "p50_s": stats["p50"],
            "p90_s": stats["p90"],
            "requests_per_s": total / wall,
            "cpu_s_per_request": cpu / total,
        }
        print(f"   c{level}: {total / wall:.1f} req/s", flush=True)
    return results


# The speed targets this run measures, as same-run ratios to a pool hit (one-shot).
TARGETS = (("few-shot", 2.0), ("unseen-10", 2.0))


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target's latency and CPU ratio to a pool hit, and whether both are met."""
    table = result["scenarios"]
    hit = table["one-shot"]["pooled"]
    found = []
    for scenario, limit in TARGETS:
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
        "| request | pooled p50 | pooled CPU-s | vs pool hit (latency / CPU) "
        "| cold p50 | cold CPU-s | cold / pooled |",
        "|---|---|---|---|---|---|---|",
    ]
    table = result["scenarios"]
    hit = table["one-shot"]["pooled"]
    for scenario, by in table.items():
        pooled, cold = by["pooled"], by["cold"]
        rows.append(
            f"| {scenario} | {pooled['p50_s'] * 1000:.0f} ms | {pooled['cpu_s_per_request']:.3f} "
            f"| {ratio(pooled['p50_s'], hit['p50_s']):.2f}x / "
            f"{ratio(pooled['cpu_s_per_request'], hit['cpu_s_per_request']):.2f}x "
            f"| {cold['p50_s'] * 1000:.0f} ms | {cold['cpu_s_per_request']:.3f} "
            f"| {ratio(cold['p50_s'], pooled['p50_s']):.1f}x |"
        )
    rows += ["", "| concurrency | req/s | p50 | p90 | CPU-s/req |", "|---|---|---|---|---|"]
    for level, entry in result["concurrency"].items():
        rows.append(
            f"| {level} | {entry['requests_per_s']:.1f} | {entry['p50_s'] * 1000:.0f} ms "
            f"| {entry['p90_s'] * 1000:.0f} ms | {entry['cpu_s_per_request']:.3f} |"
        )
    rows += ["", "| target (x a pool hit) | latency | CPU | met |", "|---|---|---|---|"]
    for target in targets(result):
        rows.append(
            f"| {target['scenario']} <= {target['limit']:.0f}x | {target['latency']:.2f}x "
            f"| {target['cpu']:.2f}x | {'yes' if target['met'] else 'NO'} |"
        )
    return "\n".join(rows)


async def measure(servers: dict[str, ServerProcess], args: argparse.Namespace) -> dict[str, Any]:
    clients = []
    for name, server in servers.items():
        assert server.process is not None
        pid = server.process.pid
        clients.append(Client(ServerContender(name, server.url, pid, pooled=name == "pooled")))
    try:
        for client in clients:  # warm up, off the record
            await client.one_shot()
            await client.few_shot()
        print("-- scenarios", flush=True)
        result: dict[str, Any] = {"scenarios": await scenarios(clients, args.rounds, args.size)}
        print("-- concurrency (pooled, one-shot)", flush=True)
        result["concurrency"] = await concurrency(clients[0], CONCURRENCY, args.per_level)
        result["pool_status"] = await clients[0].contender.status()
    finally:
        for client in clients:
            await client.contender.aclose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=3, help="requests per batch")
    parser.add_argument("--per-level", type=int, default=32, help="requests per concurrency level")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    document: dict[str, Any] = {"machine": machine(), "args": {"rounds": args.rounds}}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, contextlib.ExitStack() as stack:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ.clear()
        os.environ.update(loopback_environment("http://127.0.0.1:9", str(home)))
        upstream = stack.enter_context(UpstreamProcess(dict(os.environ)))
        os.environ.update(loopback_environment(upstream.url, str(home)))
        servers = {
            name: stack.enter_context(
                ServerProcess(upstream.url, env={"DEFAULT_MODEL": MODEL, **extra})
            )
            for name, extra in (("pooled", {}), ("cold", {"POOL_ENABLED": "false"}))
        }
        httpx.get(f"{servers['pooled'].url}/health", timeout=30).raise_for_status()
        document.update(anyio.run(measure, servers, args, backend="asyncio"))
    document["machine"]["loadavg_end"] = os.getloadavg()
    document["targets"] = targets(document)
    print(report(document), flush=True)
    print(f"load average: start {document['machine']['loadavg_start']}, end {os.getloadavg()}")
    out = args.out or RESULTS / f"conversations-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2))
    print(f"-- results: {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
