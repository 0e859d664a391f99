"""Both dialects know every error kind; overload is 529 only for Anthropic clients."""

from __future__ import annotations

import pytest

from wrapper.errors import ErrorKind, UpstreamOverloadedError, WrapperError
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


def test_other_statuses_do_not_depend_on_the_dialect() -> None:
    for kind in ErrorKind:
        if kind is ErrorKind.OVERLOADED:
            continue
        error = _Kind(kind)
        assert status_for(error, "openai") == status_for(error, "anthropic") == error.status
