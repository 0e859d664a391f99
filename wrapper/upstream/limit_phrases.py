"""The wording the CLI prints when Claude refuses a turn for a plan limit or for billing.

A subscription's refusals reach this server as the CLI's own text (a synthetic
assistant message), not as Claude's API error, so they are recognised here, in
one table: :data:`PLAN_LIMIT_PHRASES` (a usage window of the plan is used up; it
resets, so the client should wait) and :data:`BILLING_PHRASES` (extra usage is
off or spent, credit is too low: waiting a few seconds does not help). Billing is
tried first: "You've hit your monthly spend limit" is a billing refusal, though
it starts like a plan limit.

The phrases are matched lowercased, anywhere in the text, with the typographic
apostrophe folded to a plain one.
"""

from __future__ import annotations

import time
from typing import Literal

from wrapper.errors import ExtraUsageRefusedError, UsageLimitError, WrapperError

LimitKind = Literal["plan_limit", "billing"]

BILLING_PHRASES: tuple[str, ...] = (
    "monthly spend limit",
    "spend cap",
    "out of extra usage",
    "extra usage is required",
    "doesn't include extra usage",
    "doesn't include usage credits",
    "requires usage credits",
    "out of usage",
    "monthly usage limit",
    "usage allocation has been disabled",
    "usage limit is set to $0",
    "credit balance is too low",
    "credit balance too low",
)

PLAN_LIMIT_PHRASES: tuple[str, ...] = (
    "you've hit your limit",
    "you've hit your session limit",
    "you've hit your 5-hour limit",
    "you've hit your weekly limit",
    "you've hit your opus limit",
    "you've hit your sonnet limit",
    "you've hit your fable limit",
    "you've hit your usage credit limit",
    "usage limit reached",
    "usage limit exceeded",
)

_MAX_MESSAGE = 500

DEFAULT_RETRY_AFTER_S = 60.0
"""The wait a plan limit asks for when no reset time is known."""

MAX_RETRY_AFTER_S = 3600.0
"""The longest ``Retry-After`` sent: a client is asked back at least hourly."""


def limit_kind(text: str | None) -> LimitKind | None:
    """Which kind of refusal ``text`` describes, if it is one."""
    if not text:
        return None
    lowered = text.lower().replace("\u2019", "'")
    if any(phrase in lowered for phrase in BILLING_PHRASES):
        return "billing"
    if any(phrase in lowered for phrase in PLAN_LIMIT_PHRASES):
        return "plan_limit"
    return None


def retry_after_for(resets_at: float | None, now: float | None = None) -> float:
    """Seconds until ``resets_at`` (a Unix time), capped; a default when unknown or past."""
    if resets_at is None:
        return DEFAULT_RETRY_AFTER_S
    remaining = resets_at - (time.time() if now is None else now)
    if remaining <= 0:
        return DEFAULT_RETRY_AFTER_S
    return min(remaining, MAX_RETRY_AFTER_S)


def plan_limit_error(message: str, resets_at: float | None) -> UsageLimitError:
    """The 429 for a used-up plan window, with ``Retry-After`` until it resets."""
    return UsageLimitError(
        f"Claude's usage limit for this server's plan is reached: {message}",
        retry_after=retry_after_for(resets_at),
    )


def billing_error(message: str) -> ExtraUsageRefusedError:
    """The refusal for billing (extra usage off or spent, credit too low)."""
    return ExtraUsageRefusedError(f"Claude refused the request for billing: {message}")


def error_for_limit_text(text: str | None, resets_at: float | None) -> WrapperError | None:
    """The error for a refusal the CLI described in ``text``, or ``None`` if it is not one."""
    kind = limit_kind(text)
    message = " ".join((text or "").split())[:_MAX_MESSAGE]
    if kind == "billing":
        return billing_error(message)
    if kind == "plan_limit":
        return plan_limit_error(message, resets_at)
    return None
