"""``GET /v1/usage``: the Claude plan's windows and what each client key spent.

A user key sees the plan and its own spend; an admin sees every key's (or one,
with ``?key=<name>``). ``DELETE /v1/usage/keys/{name}`` (admin) starts a key's
counters over, which restores its budgets.
"""

from __future__ import annotations

import msgspec

from wrapper.api.context import AppContext
from wrapper.errors import NotFoundError
from wrapper.http.request import Caller, Request
from wrapper.http.responses import Response, json_response
from wrapper.policy.api_keys import Budget
from wrapper.usage.key_ledger import Spend
from wrapper.usage.plan_windows import PlanReport


class KeyUsage(msgspec.Struct, frozen=True, kw_only=True):
    """One client key: its role, budget and spend (model requests, tokens, dollars)."""

    name: str
    role: str
    total: Spend
    today: Spend
    this_month: Spend
    budget: Budget | None = None


class UsageReport(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "usage"
    caller: str
    plan: PlanReport
    keys: list[KeyUsage]


class UsageReset(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    reset: bool = True


class UsageAPI:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def _names(self, caller: Caller, asked: str | None) -> list[str]:
        keys = self.ctx.ops.api_keys
        if asked is not None and asked != caller.name:
            keys.require_admin(caller, "Another key's usage")
            if keys.named(asked) is None:
                raise NotFoundError(f"No client key is named {asked!r}.")
            return [asked]
        if asked is not None or not caller.admin or not keys.required:
            return [caller.name]
        return [key.name for key in keys.keys]

    async def usage(self, request: Request) -> Response:
        accounting = self.ctx.ops.usage
        readings = await accounting.plan.latest()
        views: list[KeyUsage] = []
        for name in self._names(request.caller, request.query.get("key") or None):
            key = self.ctx.ops.api_keys.named(name)
            spend = await accounting.ledger.spend(name)
            views.append(
                KeyUsage(
                    name=name,
                    role=key.role if key is not None else "admin",
                    total=spend.total,
                    today=spend.today,
                    this_month=spend.this_month,
                    budget=key.budget if key is not None and key.budget.limited else None,
                )
            )
        return json_response(
            UsageReport(
                caller=request.caller.name, plan=accounting.plan.report(readings), keys=views
            )
        )

    async def reset_key(self, request: Request) -> Response:
        name = request.path_params["name"]
        if self.ctx.ops.api_keys.named(name) is None:
            raise NotFoundError(f"No client key is named {name!r}.")
        await self.ctx.ops.usage.ledger.forget(name)
        return json_response(UsageReset(key=name))
