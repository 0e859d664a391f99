"""Fixtures for the session tests: the backend kinds, each opened fresh per test."""

from __future__ import annotations

import pytest

from tests.unit.sessions.backends import KINDS


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis_url(kind: str, request: pytest.FixtureRequest) -> str | None:
    if kind != "redis":
        return None
    return str(request.getfixturevalue("redis_server").url)
