"""Both dialects know every error kind; overload (529) and billing (402) differ for Anthropic."""

from __future__ import annotations

import pytest

from wrapper.errors import ErrorKind, ExtraUsageRefusedError, UpstreamOverloadedError, WrapperError
from wrapper.schemas.errors import anthropic_error, openai_error, status_for


class _Kind(WrapperError):
    def __init__(self, kind: ErrorKind) -> None:
        super().__init__(f"a {kind} error")
        self.kind = kind


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_kind_renders_in_both_dialects(kind: ErrorKind) -> None:
    error = _Kind(kind)
    assert openai_error(error).error.type
    assert anthropic_error(error).error.type


def test_overload_status_per_dialect() -> None:
    error = UpstreamOverloadedError("busy")
    assert status_for(error, "openai") == 503
    assert status_for(error, "anthropic") == 529


def test_a_billing_refusal_is_openai_insufficient_quota_and_anthropic_billing_error() -> None:
    error = ExtraUsageRefusedError("out of extra usage")
    assert status_for(error, "openai") == 429
    assert openai_error(error).error.type == "insufficient_quota"
    assert openai_error(error).error.code == "insufficient_quota"
    assert status_for(error, "anthropic") == 402
    assert anthropic_error(error).error.type == "billing_error"


def test_other_statuses_do_not_depend_on_the_dialect() -> None:
    for kind in ErrorKind:
        if kind in (ErrorKind.OVERLOADED, ErrorKind.QUOTA_EXHAUSTED):
            continue
        error = _Kind(kind)
        assert status_for(error, "openai") == status_for(error, "anthropic") == error.status
