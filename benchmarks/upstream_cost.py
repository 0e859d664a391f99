"""What the CLI sends upstream versus what the client sent.

Each scenario goes through the real server (pooled and pool-off) to an
in-process fake upstream that records every request body; the counting rules
are in :mod:`benchmarks.cost_counting` (approximate tokens: characters / 4).
The whole request body's JSON length is reported too (it adds field names,
metadata, cache-control markers...).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks.contenders import MODEL
from benchmarks.cost_counting import measure
from benchmarks.stats import approx_tokens
from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream

SYSTEM_PROMPT = "You are a helpful assistant."
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_docs",
            "description": "Search the product documentation.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 20},
                },
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert_currency",
            "description": "Convert an amount between two currencies.",
            "parameters": {
                "type": "object",
                "properties": {
                    "amount": {"type": "number"},
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                },
                "required": ["amount", "from", "to"],
            },
        },
    },
]
CONVERSATION_TURNS = 10


# --------------------------------------------------------------------------- scenarios


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def scenarios() -> dict[str, dict[str, Any]]:
    """The single-request scenarios (the conversation is run turn by turn)."""
    return {
        "plain chat": {"messages": [_user("Say hi")]},
        "system prompt": {
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, _user("Say hi")]
        },
        "3 client tools": {"messages": [_user("Say hi")], "tools": TOOLS},
    }


class Sender:
    """Posts chat requests to a server and returns the upstream bodies each caused."""

    def __init__(self, base_url: str, recorded: Callable[[], list[Any]]) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=120.0)
        self.recorded = recorded

    def close(self) -> None:
        self.http.close()

    def send(self, request: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        before = len(self.recorded())
        response = self.http.post("/v1/chat/completions", json={"model": MODEL, **request})
        response.raise_for_status()
        reply = response.json()["choices"][0]["message"]["content"] or ""
        # The fake records a request when it arrives, before answering: all are in.
        bodies = [r.body for r in self.recorded()[before:] if r.path == "/v1/messages"]
        return reply, bodies


def run_scenarios(sender: Sender, repeats: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, request in scenarios().items():
        runs = []
        for _ in range(repeats):
            _, bodies = sender.send(request)
            runs.append(measure(request, bodies).as_dict())
        results[name] = {"runs": runs}
    messages: list[dict[str, Any]] = []
    per_turn = []
    for turn in range(1, CONVERSATION_TURNS + 1):
        messages.append(_user(f"Turn {turn}: tell me one short fact."))
        request = {"messages": list(messages)}
        reply, bodies = sender.send(request)
        per_turn.append(measure(request, bodies).as_dict())
        messages.append({"role": "assistant", "content": reply})
    total = {
        key: sum(turn[key] for turn in per_turn)
        for key in (
            "client_chars",
            "upstream_chars",
            "overhead_chars",
            "upstream_calls",
            "upstream_body_chars",
        )
    }
    total["client_tokens_approx"] = approx_tokens(total["client_chars"])
    total["upstream_tokens_approx"] = approx_tokens(total["upstream_chars"])
    results[f"{CONVERSATION_TURNS}-turn conversation (last turn)"] = {"runs": [per_turn[-1]]}
    results[f"{CONVERSATION_TURNS}-turn conversation (all turns)"] = {
        "runs": [total],
        "per_turn": per_turn,
    }
    return results


def upstream_cost(repeats: int, modes: tuple[str, ...]) -> dict[str, Any]:
    """Run the scenarios against a fresh server per mode and an in-process fake."""
    report: dict[str, Any] = {
        "token_note": "tokens are approximate: characters / 4 (the fake upstream's rule)"
    }
    with FakeUpstream() as upstream:
        for mode in modes:
            env = {"DEFAULT_MODEL": MODEL}
            if mode == "pool-off":
                env["POOL_ENABLED"] = "false"
            with ServerProcess(upstream.url, env=env) as server:
                _wait_warm(server.url, pooled=mode == "pooled")
                sender = Sender(server.url, lambda: list(upstream.requests))
                try:
                    report[mode] = run_scenarios(sender, repeats)
                finally:
                    sender.close()
    return report


def _wait_warm(url: str, *, pooled: bool, timeout_s: float = 60.0) -> None:
    if not pooled:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = httpx.get(f"{url}/v1/pool/status", timeout=10).json()
        if status["processes"].get("clean", 0) >= 1:
            return
        time.sleep(0.05)
