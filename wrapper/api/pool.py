"""``GET /v1/pool/status``: the warm process pool, the turn queue and the circuit breaker."""

from __future__ import annotations

import msgspec

from wrapper.api.context import AppContext
from wrapper.backend.layers.breaker import BreakerStatus
from wrapper.http.request import Request
from wrapper.http.responses import Response, json_response


class PoolStatus(msgspec.Struct):
    enabled: bool
    processes: dict[str, int]
    turns_running: int
    turns_waiting: int
    turns_rejected: int
    max_concurrent_turns: int
    max_queued_turns: int
    pids: list[int]
    circuit_breaker: BreakerStatus


class PoolAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def status(self, request: Request) -> Response:
        engine = self.ctx.engine
        pool, admission = engine.pool, engine.admission
        return json_response(
            PoolStatus(
                enabled=pool.enabled,
                processes=pool.stats(),
                turns_running=admission.running,
                turns_waiting=admission.waiting,
                turns_rejected=admission.rejected,
                max_concurrent_turns=admission.limit,
                max_queued_turns=admission.queue_limit,
                pids=pool.pids(),
                circuit_breaker=engine.breaker.status(),
            )
        )
