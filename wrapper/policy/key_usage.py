"""Each request charged to its client key: budgets before a model request, spend after.

:meth:`UsageAccounting.admit` runs for the model routes (the ``chat`` group) once
the key is known: it refuses a key whose budget is spent (429 with ``Retry-After``:
requests per minute, tokens per UTC day, dollars per UTC month), refuses early
while the Claude plan is rejected (``QUOTA_GUARD``), and counts the request.
:meth:`UsageAccounting.backend_for` wraps the backend of one request so that the
tokens and cost of each of its turns are added to the key's spend.

A failing usage store never fails a request: budgets are then not enforced
(logged), as the rate limiter fails open.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager

from wrapper.errors import RateLimitedError
from wrapper.events import AgentEvent, Backend, Turn, TurnEnd
from wrapper.http.request import Caller
from wrapper.logging import get_logger
from wrapper.monitoring.metrics import Metrics
from wrapper.policy.api_keys import ApiKeys, Budget
from wrapper.policy.ownership import scoped_turn
from wrapper.policy.ratelimit import RateLimitStore
from wrapper.upstream.limit_phrases import MAX_RETRY_AFTER_S, plan_limit_error
from wrapper.usage.key_ledger import KeyLedger, next_day, next_month
from wrapper.usage.plan_windows import PlanWindows

log = get_logger(__name__)

CHARGED_GROUPS = frozenset({"chat"})
_MINUTE_S = 60.0
_STATUS_VALUE = {"allowed": 0.0, "warning": 1.0, "rejected": 2.0}


class UsageAccounting:
    """Budgets, spend and the plan guard of the model routes."""

    def __init__(
        self,
        *,
        keys: ApiKeys,
        ledger: KeyLedger,
        plan: PlanWindows,
        rate_store: RateLimitStore,
        metrics: Metrics,
        quota_guard: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.ledger = ledger
        self.plan = plan
        self.rate_store = rate_store
        self.metrics = metrics
        self.quota_guard = quota_guard
        self._clock = clock

    async def admit(self, caller: Caller, group: str) -> None:
        """Charge one model request to ``caller`` (other groups pass untouched).

        Raises:
            RateLimitedError: the key's budget is spent (``key_budget_exceeded``).
            UsageLimitError: ``QUOTA_GUARD`` is on and a plan window is rejected.
        """
        if group not in CHARGED_GROUPS:
            return
        if self.quota_guard:
            until = self.plan.rejected_until()
            if until is not None:
                raise plan_limit_error("a usage window is rejected (QUOTA_GUARD).", until)
        key = self.keys.named(caller.name)
        if key is not None and key.budget.limited:
            await self._check_budget(caller.name, key.budget)
        self.metrics.key_requests.labels(key=caller.name).inc()
        self.ledger.add_request(caller.name)

    async def _check_budget(self, name: str, budget: Budget) -> None:
        if budget.requests_per_minute:
            try:
                decision = await self.rate_store.hit(
                    f"key:{name}", budget.requests_per_minute, _MINUTE_S
                )
            except Exception:
                log.warning("usage.store_failed", action="rpm", exc_info=True)
            else:
                if not decision.allowed:
                    self._refuse(
                        name,
                        "requests_per_minute",
                        f"{budget.requests_per_minute} requests per minute",
                        decision.reset_after,
                    )
        if not (budget.tokens_per_day or budget.usd_per_month):
            return
        try:
            spend = await self.ledger.spend(name)
        except Exception:
            log.warning("usage.store_failed", action="spend", exc_info=True)
            return
        now = self._clock()
        if budget.tokens_per_day and spend.today.tokens >= budget.tokens_per_day:
            self._refuse(
                name,
                "tokens_per_day",
                f"{budget.tokens_per_day} tokens per day",
                next_day(now) - now,
            )
        if budget.usd_per_month and spend.this_month.cost_usd >= budget.usd_per_month:
            self._refuse(
                name,
                "usd_per_month",
                f"${budget.usd_per_month:g} per month",
                min(next_month(now) - now, MAX_RETRY_AFTER_S),
            )

    def _refuse(self, name: str, budget: str, what: str, wait_s: float) -> None:
        self.metrics.key_budget_refusals.labels(key=name, budget=budget).inc()
        wait = max(1, math.ceil(wait_s))
        raise RateLimitedError(
            f"The budget of key {name!r} is spent: {what}; try again in {wait} seconds.",
            code="key_budget_exceeded",
            retry_after=wait_s,
        )

    async def refresh_plan_metrics(self) -> None:
        """Set the plan-window gauges from the latest readings (before ``/metrics`` renders)."""
        report = self.plan.report(await self.plan.latest())
        for view in report.windows:
            self.metrics.plan_status.labels(window=view.window).set(_STATUS_VALUE[view.status])
            self.metrics.plan_reading_age.labels(window=view.window).set(view.age_s)
            if view.utilization is not None:
                self.metrics.plan_utilization.labels(window=view.window).set(view.utilization)
            if view.resets_in_s is not None:
                self.metrics.plan_resets_in.labels(window=view.window).set(view.resets_in_s)

    def backend_for(self, caller: Caller, backend: Backend) -> Backend:
        """``backend`` as ``caller`` uses it: its sessions, and every turn charged to it."""
        return _ChargedBackend(backend, self, caller)

    async def charge_turn(self, name: str, end: TurnEnd) -> None:
        usage = end.usage
        self.metrics.key_tokens.labels(key=name, direction="input").inc(usage.prompt_tokens)
        self.metrics.key_tokens.labels(key=name, direction="output").inc(usage.output_tokens)
        if end.cost_usd:
            self.metrics.key_cost.labels(key=name).inc(end.cost_usd)
        self.ledger.add_turn(
            name,
            input_tokens=usage.prompt_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=end.cost_usd,
        )
        key = self.keys.named(name)
        if key is not None and key.budget.limited:
            # A key with a budget is written through, so that the next request's check,
            # on any replica, sees this turn; the others wait for the next flush.
            await self.ledger.flush()


class _ChargedBackend:
    """``inner`` with the key's own sessions and each turn's end charged to the key."""

    def __init__(self, inner: Backend, accounting: UsageAccounting, caller: Caller) -> None:
        self.inner = inner
        self.accounting = accounting
        self.caller = caller
        self.name = caller.name

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        async with self.inner.open(scoped_turn(self.caller, turn)) as events:
            charged = self._charge(events)
            try:
                yield charged
            finally:
                await charged.aclose()

    async def _charge(self, events: AsyncIterator[AgentEvent]) -> AsyncGenerator[AgentEvent, None]:
        async for event in events:
            if isinstance(event, TurnEnd):
                await self.accounting.charge_turn(self.name, event)
            yield event
