"""The CLI's wording of plan-limit and billing refusals, in one table."""

from __future__ import annotations

import pytest

from wrapper.errors import ExtraUsageRefusedError, UsageLimitError
from wrapper.upstream.limit_phrases import (
    DEFAULT_RETRY_AFTER_S,
    MAX_RETRY_AFTER_S,
    error_for_limit_text,
    limit_kind,
    retry_after_for,
)


@pytest.mark.parametrize(
    "text",
    [
        "You've hit your 5-hour limit · resets 4:23am (UTC)",  # captured from the CLI
        "You\u2019ve hit your session limit · resets 5pm",
        "You've hit your weekly limit · resets Mon 9am",
        "You've hit your Opus limit",
        "You've hit your limit · resets 3pm",
        "Claude AI usage limit reached|1767225600",
    ],
)
def test_plan_limits_are_recognised(text: str) -> None:
    assert limit_kind(text) == "plan_limit"
    assert isinstance(error_for_limit_text(text, None), UsageLimitError)


@pytest.mark.parametrize(
    "text",
    [
        "You've hit your monthly spend limit · /usage-credits to raise it",
        "You're out of extra usage · resets Jan 1",
        "Your org is out of usage · contact your admin",
        "Your credit balance is too low to access the Anthropic API.",
        "Your seat type doesn't include usage credits",
        "Your group's usage limit is set to $0",
        "Opus 4 requires usage credits.",
    ],
)
def test_billing_refusals_are_recognised_before_plan_limits(text: str) -> None:
    assert limit_kind(text) == "billing"
    assert isinstance(error_for_limit_text(text, None), ExtraUsageRefusedError)


@pytest.mark.parametrize("text", [None, "", "Overloaded", "prompt is too long", "Not logged in"])
def test_other_texts_are_not_limits(text: str | None) -> None:
    assert limit_kind(text) is None
    assert error_for_limit_text(text, None) is None


def test_retry_after_is_the_real_wait_capped() -> None:
    assert retry_after_for(1_000_100, now=1_000_000) == 100
    assert retry_after_for(1_100_000, now=1_000_000) == MAX_RETRY_AFTER_S
    assert retry_after_for(999_000, now=1_000_000) == DEFAULT_RETRY_AFTER_S
    assert retry_after_for(None) == DEFAULT_RETRY_AFTER_S
