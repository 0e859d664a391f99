"""Turning records into the results document, its ratios and targets, and readable tables."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from benchmarks.measure import Record
from benchmarks.stats import ratio, summary

MB = 1024 * 1024

# The targets (reported against, never asserted).
TARGET_P50_VS_FLOOR = 1.3
TARGET_SPEEDUP_VS_POOL_OFF = 10.0
TARGET_RPS_AT_16 = 30.0
TARGET_FIRST_CONTENT_GAP_S = 0.010
TARGET_CPU_PER_REQUEST_S = 0.05
# Against the warm floor: one connected CLI (``floor``), or the same reset after
# every turn the way the pool resets (``floor-reset``).
TARGET_C1_P50_VS_FLOOR = 1.15
TARGET_C16_RPS_VS_FLOOR_C1 = 0.9
TARGET_CPU_VS_FLOOR_RESET = 1.1


def summarise(record: Record, peak_rss: int | None) -> dict[str, Any]:
    throughput: dict[str, Any] = {}
    for concurrency, rounds in sorted(record.throughput.items()):
        completed = sum(done for done, _ in rounds)
        elapsed = sum(seconds for _, seconds in rounds)
        per_round = [done / seconds for done, seconds in rounds if seconds > 0]
        throughput[str(concurrency)] = {
            "requests_per_s": completed / elapsed if elapsed else math.nan,
            "per_round": per_round,
            "completed": completed,
        }
    return {
        "nonstream_s": summary(record.nonstream_s),
        "first_content_s": summary(record.first_content_s),
        "stream_total_s": summary(record.stream_total_s),
        "throughput": throughput,
        "cpu": {name: window.as_dict() for name, window in record.cpu.items()},
        "peak_rss_bytes": peak_rss,
        "errors": len(record.errors),
        "error_kinds": sorted(set(record.errors)),
    }


def _get(result: dict[str, Any], *path: str) -> float | None:
    value: Any = result
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def ratios(mode: dict[str, Any]) -> dict[str, float | None]:
    pooled, cold, floor = mode.get("pooled", {}), mode.get("pool-off", {}), mode.get("floor", {})
    reset = mode.get("floor-reset", {})
    p50 = ("nonstream_s", "p50")
    first = ("first_content_s", "p50")
    total = ("stream_total_s", "p50")
    rps16 = ("throughput", "16", "requests_per_s")
    rps1 = ("throughput", "1", "requests_per_s")
    cpu = ("cpu", "sequential", "cpu_s_per_request")
    return {
        "pooled/floor non-stream p50": ratio(_get(pooled, *p50), _get(floor, *p50)),
        "pool-off/pooled non-stream p50": ratio(_get(cold, *p50), _get(pooled, *p50)),
        "pooled/floor first content p50": ratio(_get(pooled, *first), _get(floor, *first)),
        "pool-off/pooled first content p50": ratio(_get(cold, *first), _get(pooled, *first)),
        "pooled/floor stream total p50": ratio(_get(pooled, *total), _get(floor, *total)),
        "pooled/pool-off req/s at 16": ratio(_get(pooled, *rps16), _get(cold, *rps16)),
        "pooled/floor req/s at 1": ratio(_get(pooled, *rps1), _get(floor, *rps1)),
        "pooled/floor CPU per request": ratio(_get(pooled, *cpu), _get(floor, *cpu)),
        "pool-off/pooled CPU per request": ratio(_get(cold, *cpu), _get(pooled, *cpu)),
        "pooled/floor-reset non-stream p50": ratio(_get(pooled, *p50), _get(reset, *p50)),
        "pooled/floor-reset CPU per request": ratio(_get(pooled, *cpu), _get(reset, *cpu)),
        "floor-reset/floor non-stream p50": ratio(_get(reset, *p50), _get(floor, *p50)),
        "floor-reset/floor CPU per request": ratio(_get(reset, *cpu), _get(floor, *cpu)),
        "pooled req/s at 16 / floor req/s at 1": ratio(_get(pooled, *rps16), _get(floor, *rps1)),
    }


def targets(mode: dict[str, Any], *, paced: bool = False) -> list[dict[str, Any]]:
    """The issue's targets against this mode's figures.

    With a paced upstream every reply takes ~1 s, so the speed-up over pool-off
    and the throughput at 16 are bounded by the upstream (and the pool size), not
    by the server: those rows are shown but not judged.
    """
    pooled, cold, floor = mode.get("pooled", {}), mode.get("pool-off", {}), mode.get("floor", {})
    reset = mode.get("floor-reset", {})
    cpu = ("cpu", "sequential", "cpu_s_per_request")
    first_pooled = _get(pooled, "first_content_s", "p50")
    first_floor = _get(floor, "first_content_s", "p50")
    gap = None if first_pooled is None or first_floor is None else first_pooled - first_floor
    rows: list[tuple[str, str, bool, float | None, Callable[[float], bool]]] = [
        ("pooled p50 / floor p50", "<= 1.3", True,
         ratio(_get(pooled, "nonstream_s", "p50"), _get(floor, "nonstream_s", "p50")),
         lambda v: v <= TARGET_P50_VS_FLOOR),
        ("pool-off p50 / pooled p50", ">= 10", not paced,
         ratio(_get(cold, "nonstream_s", "p50"), _get(pooled, "nonstream_s", "p50")),
         lambda v: v >= TARGET_SPEEDUP_VS_POOL_OFF),
        ("pooled req/s at concurrency 16", ">= 30", not paced,
         _get(pooled, "throughput", "16", "requests_per_s"),
         lambda v: v >= TARGET_RPS_AT_16),
        ("pooled first content - floor's (s)", "<= 0.010", True, gap,
         lambda v: v <= TARGET_FIRST_CONTENT_GAP_S),
        ("pooled CPU-s per request (sequential)", "<= 0.05", True,
         _get(pooled, *cpu),
         lambda v: v <= TARGET_CPU_PER_REQUEST_S),
        ("back-to-back c1: pooled p50 / floor p50", "<= 1.15", True,
         ratio(_get(pooled, "nonstream_s", "p50"), _get(floor, "nonstream_s", "p50")),
         lambda v: v <= TARGET_C1_P50_VS_FLOOR),
        ("pooled req/s at 16 / floor req/s at 1 (the floor answers one at a time)",
         ">= 0.9", not paced,
         ratio(_get(pooled, "throughput", "16", "requests_per_s"),
               _get(floor, "throughput", "1", "requests_per_s")),
         lambda v: v >= TARGET_C16_RPS_VS_FLOOR_C1),
        ("pooled CPU-s per request / floor-reset's (sequential)", "<= 1.1", True,
         ratio(_get(pooled, *cpu), _get(reset, *cpu)),
         lambda v: v <= TARGET_CPU_VS_FLOOR_RESET),
    ]  # fmt: skip
    return [
        {
            "target": name,
            "measured": value,
            "goal": goal,
            "met": check(value) if judged and value is not None else None,
            "judged": judged,
        }
        for name, goal, judged, value, check in rows
    ]


# --------------------------------------------------------------------------- text


def _ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * 1000:.1f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        cells = [
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def mode_text(name: str, mode: dict[str, Any]) -> str:
    headers = [
        "contender",
        "non-stream p50/p90 ms",
        "1st content p50/p90 ms",
        "stream total p50/p90 ms",
        "req/s c1",
        "c4",
        "c16",
        "CPU-s/req seq",
        "c16",
        "peak RSS MB",
        "errors",
    ]
    rows = []
    for contender in mode["contenders"]:
        result = mode[contender]
        nonstream, first, total = (
            result["nonstream_s"],
            result["first_content_s"],
            result["stream_total_s"],
        )
        rps = {c: _get(result, "throughput", c, "requests_per_s") for c in ("1", "4", "16")}
        rss = result.get("peak_rss_bytes")
        rows.append(
            [
                contender,
                f"{_ms(nonstream['p50'])} / {_ms(nonstream['p90'])}",
                f"{_ms(first['p50'])} / {_ms(first['p90'])}",
                f"{_ms(total['p50'])} / {_ms(total['p90'])}",
                _num(rps["1"]),
                _num(rps["4"]),
                _num(rps["16"]),
                _num(_get(result, "cpu", "sequential", "cpu_s_per_request"), 3),
                _num(_get(result, "cpu", "c16", "cpu_s_per_request"), 3),
                "-" if rss is None else f"{rss / MB:.0f}",
                str(result["errors"]),
            ]
        )
    parts = [f"== upstream mode: {name} ==", table(headers, rows), ""]
    split = []
    for contender in mode["contenders"]:
        cpu = mode[contender]["cpu"].get("sequential") or {}
        split.append(
            f"{contender} python {_num(cpu.get('python_cpu_s_per_request'), 3)}"
            f" + CLI {_num(cpu.get('cli_cpu_s_per_request'), 3)}"
        )
    parts.append("CPU-s/req (sequential) split: " + "; ".join(split))
    helpers = mode.get("helpers") or {}
    if helpers:
        parts.append(
            "same box, per request: fake upstream CPU "
            f"{_num(helpers.get('upstream_cpu_s_per_request'), 4)} s, load generator + floor host "
            f"{_num(helpers.get('bench_cpu_s_per_request'), 4)} s"
        )
    parts.append(
        "ratios: " + "; ".join(f"{key} = {_num(value, 2)}" for key, value in mode["ratios"].items())
    )
    parts.append("targets:")
    for row in mode["targets"]:
        met = {True: "met", False: "MISSED", None: "n/a"}[row["met"]]
        if not row.get("judged", True):
            met = "not judged (bounded by the paced upstream)"
        value = row["measured"]
        shown = _num(value, 3) if value is not None else "-"
        parts.append(f"  {row['target']}: {shown} (goal {row['goal']}) {met}")
    return "\n".join(parts)


def health_text(health: dict[str, Any]) -> str:
    rows = []
    for tool in ("wrk", "httpx"):
        result = health.get(tool) or {}
        if result.get("missing"):
            rows.append([tool, "not installed", "-", "-", "-"])
            continue
        rows.append(
            [
                tool,
                _num(result.get("requests_per_s")),
                _ms(result.get("p50_s")),
                _ms(result.get("p90_s")),
                _num((result.get("server_cpu_s_per_request") or math.nan) * 1000, 3),
            ]
        )
    headers = ["GET /health", "req/s", "p50 ms", "p90 ms", "server CPU-ms/req"]
    title = f"== framework floor: one hypercorn worker, {health['connections']} connections =="
    return f"{title}\n{table(headers, rows)}"


def cost_text(cost: dict[str, Any]) -> str:
    parts = [f"== upstream cost; {cost['token_note']} =="]
    headers = [
        "mode",
        "scenario",
        "client chars",
        "upstream chars",
        "overhead chars",
        "~client tok",
        "~upstream tok",
        "~overhead tok",
        "body JSON chars",
    ]
    rows = []
    for mode, scenarios in cost.items():
        if not isinstance(scenarios, dict):
            continue
        for name, result in scenarios.items():
            runs = result["runs"]

            def span(key: str, runs: list[dict[str, Any]] = runs) -> str:
                low, high = min(r[key] for r in runs), max(r[key] for r in runs)
                return f"{low}" if low == high else f"{low}-{high}"

            overhead_tok = [r["upstream_tokens_approx"] - r["client_tokens_approx"] for r in runs]
            rows.append(
                [
                    mode,
                    name,
                    span("client_chars"),
                    span("upstream_chars"),
                    span("overhead_chars"),
                    span("client_tokens_approx"),
                    span("upstream_tokens_approx"),
                    f"{min(overhead_tok)}"
                    if min(overhead_tok) == max(overhead_tok)
                    else f"{min(overhead_tok)}-{max(overhead_tok)}",
                    span("upstream_body_chars") if "upstream_body_chars" in runs[0] else "-",
                ]
            )
    parts.append(table(headers, rows))
    plain = (cost.get("pooled") or cost.get("pool-off") or {}).get("plain chat")
    if plain:
        worst = max(plain["runs"], key=lambda r: r["upstream_chars"])
        parts.append("what the CLI adds to a plain chat (largest run):")
        for piece in worst["added"]:
            parts.append(f"  {piece['where']}: {piece['chars']} chars: {piece['starts']!r}")
    return "\n".join(parts)
