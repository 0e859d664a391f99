"""E2E fixtures: a shared real server (asyncio worker) for tests that need no special config.

The shared server runs in both backend modes — the warm pool (the default) and one
cold CLI process per turn (``POOL_ENABLED=false``) — so every test that uses it
proves its behaviour in both.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.e2e.harness import ServerProcess
from tests.fakes.anthropic_upstream import FakeUpstream


@pytest.fixture(scope="session", params=["pooled", "cold"])
def server(upstream: FakeUpstream, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    env = {"POOL_ENABLED": "false"} if request.param == "cold" else {}
    with ServerProcess(upstream.url, env=env) as proc:
        yield proc


@pytest.fixture
def base_url(server: ServerProcess) -> str:
    return f"{server.url}/v1"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        for name in ("server",):
            proc = item.funcargs.get(name) if hasattr(item, "funcargs") else None
            if isinstance(proc, ServerProcess):
                report.sections.append(("server log (tail)", proc.log()[-6000:]))
    return report
