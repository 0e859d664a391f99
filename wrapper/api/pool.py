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
    circuit_breaker: BreakerStatus | None


class PoolAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def status(self, request: Request) -> Response:
        pool, admission, breaker = self.ctx.pool, self.ctx.admission, self.ctx.circuit_breaker
        return json_response(
            PoolStatus(
                enabled=pool is not None,
                processes=pool.stats() if pool is not None else {},
                turns_running=admission.running if admission else 0,
                turns_waiting=admission.waiting if admission else 0,
                turns_rejected=admission.rejected if admission else 0,
                max_concurrent_turns=admission.limit if admission else 0,
                max_queued_turns=admission.queue_limit if admission else 0,
                pids=pool.pids() if pool is not None else [],
                circuit_breaker=breaker.status() if breaker is not None else None,
            )
        )
