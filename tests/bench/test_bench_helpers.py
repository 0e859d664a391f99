"""The benchmark's pure helpers (statistics, wrk parsing, upstream-cost counting); no server."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.contenders import floor_runtime
from benchmarks.cost_counting import added_pieces, client_pieces, measure, upstream_pieces
from benchmarks.framework import parse_wrk
from benchmarks.stats import approx_tokens, percentile, ratio, summary
from wrapper.config import Settings


def test_percentiles_interpolate_between_closest_ranks() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 50) == 2.5
    assert percentile(samples, 100) == 4.0
    assert percentile([7.0], 90) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile(samples, 101)


def test_summary_ratio_and_approximate_tokens() -> None:
    stats = summary([0.1, 0.2, 0.3])
    assert stats["n"] == 3
    assert stats["p50"] == pytest.approx(0.2)
    assert stats["p90"] == pytest.approx(0.28)
    assert summary([])["n"] == 0
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 1.0) is None
    assert ratio(math.nan, 1.0) is None
    assert approx_tokens(1068) == 267


WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8000/health
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.61ms    2.10ms  30.00ms   80.00%
  Latency Distribution
     50%    9.40ms
     75%   10.50ms
     90%   13.10ms
     99%  850.00us
  8168 requests in 5.00s, 1.20MB read
Requests/sec:   1633.60
Transfer/sec:    245.10KB
"""


def test_parse_wrk_reads_throughput_and_latency_percentiles() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert result["requests_per_s"] == pytest.approx(1633.6)
    assert result["p50_s"] == pytest.approx(0.0094)
    assert result["p90_s"] == pytest.approx(0.0131)
    assert result["p99_s"] == pytest.approx(0.00085)
    assert result["non_2xx"] == 0


def test_upstream_cost_counts_only_what_the_cli_added() -> None:
    request = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hi"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "f", "description": "d", "parameters": {}}}
        ],
    }
    body = {
        "system": [{"type": "text", "text": "billing"}, {"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Say hi"}]},
            {"role": "system", "content": [{"type": "text", "text": "# Environment"}]},
        ],
        "tools": [{"name": "f", "description": "d", "input_schema": {}}],
    }
    client = client_pieces(request)
    upstream = upstream_pieces(body)
    assert [text for _, text in client][:2] == ["Be brief.", "Say hi"]
    added = added_pieces(upstream, client)
    assert {piece["where"] for piece in added} == {"system[0]", "messages[1].system[0]", "tools[0]"}
    measured = measure(request, [body])
    assert measured.client_chars == len("Be brief.") + len("Say hi") + len(client[2][1])
    assert measured.overhead_chars == measured.upstream_chars - measured.client_chars
    assert measured.as_dict()["upstream_calls"] == 1


def test_the_floor_cli_waits_for_a_parked_tool_longer_than_the_pool_parks_it(
    tmp_path: Path,
) -> None:
    env = floor_runtime(tmp_path).extra_env
    park_ms = Settings().pool.park_timeout_s * 1000
    assert int(env["MCP_TOOL_TIMEOUT"]) > park_ms
    assert env["CLAUDE_CODE_SDK_MCP_TOOL_IDLE_TIMEOUT"] == env["MCP_TOOL_TIMEOUT"]
