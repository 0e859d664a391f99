"""The CLI login's health: probe verdicts, upstream rejections, the gate, and the probe itself."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import anyio
import pytest

from wrapper.backend.cli_path import claude_cli_path
from wrapper.errors import UpstreamAuthenticationError
from wrapper.upstream.login import (
    CliLoginHealth,
    ProbeResult,
    probe_cli_login,
    run_probe_loop,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def health(gated: bool = True) -> tuple[CliLoginHealth, Clock]:
    clock = Clock()
    return CliLoginHealth(gated=gated, probe_interval_s=600, clock=clock, hold_s=60), clock


def test_unknown_until_told() -> None:
    login, _ = health()
    assert login.ok is None
    login.check()
    assert login.status().gated is False


def test_a_lost_login_gates_until_a_probe_sees_it_back() -> None:
    login, clock = health()
    login.record_probe(ProbeResult(logged_in=False, message="not logged in"))
    with pytest.raises(UpstreamAuthenticationError) as caught:
        login.check()
    assert caught.value.status == 401
    assert caught.value.code == "claude_cli_not_authenticated"
    status = login.status()
    assert status.ok is False
    assert status.gated is True
    assert status.error_kind == "not_logged_in"
    assert status.last_probed_at == clock.now
    clock.now += 3600  # a lost login stays lost however long it takes
    assert login.is_lost()
    login.record_probe(ProbeResult(logged_in=True, auth_method="claude.ai"))
    login.check()
    assert login.status().ok is True
    assert login.status().cli_auth_method == "claude.ai"
    assert login.status().last_ok_at == clock.now


def test_a_failed_probe_leaves_the_verdict_alone() -> None:
    login, _ = health()
    login.record_probe(ProbeResult(logged_in=True))
    login.record_probe(ProbeResult(logged_in=None, message="timed out"))
    assert login.ok is True
    assert not login.is_lost()
    assert login.status().error_kind == "probe_failed"


def test_an_upstream_rejection_gates_for_the_hold_then_lets_one_through() -> None:
    login, clock = health()
    login.report_success()
    login.report_rejection("Invalid API key")
    assert login.is_lost()
    assert login.status().error_kind == "upstream_rejected"
    clock.now += 30
    # The probe reads local state only: it cannot clear a rejection by Claude.
    login.record_probe(ProbeResult(logged_in=True))
    assert login.is_lost()
    clock.now += 29.9
    assert login.is_lost()
    clock.now += 0.2  # the hold is over: the next request tries again
    assert not login.is_lost()
    login.record_probe(ProbeResult(logged_in=True))
    assert login.ok is True
    login.report_rejection()
    login.report_success()
    assert login.ok is True
    assert login.status().error_kind is None


def test_other_methods_are_never_gated() -> None:
    login, _ = health(gated=False)
    login.report_rejection()
    login.record_probe(ProbeResult(logged_in=False))
    login.check()
    assert login.status().probe == "off"


def _script(tmp: Path, body: str) -> list[str]:
    path = tmp / "fake_claude.py"
    path.write_text(body)
    return [sys.executable, str(path)]


@pytest.mark.anyio
async def test_probe_reads_the_cli_verdict(tmp_path: Path) -> None:
    logged_in = _script(
        tmp_path, 'print(\'{"loggedIn": true, "authMethod": "claude.ai", "x": 1}\')\n'
    )
    result = await probe_cli_login(logged_in, {})
    assert result == ProbeResult(logged_in=True, auth_method="claude.ai")
    logged_out = _script(
        tmp_path,
        'import sys\nprint(\'{"loggedIn": false, "authMethod": "none"}\')\nsys.exit(1)\n',
    )
    result = await probe_cli_login(logged_out, {})
    assert result.logged_in is False
    assert result.auth_method == "none"


@pytest.mark.anyio
async def test_probe_failures_give_no_verdict(tmp_path: Path) -> None:
    garbage = _script(tmp_path, "import sys\nprint('oops', file=sys.stderr)\nsys.exit(3)\n")
    result = await probe_cli_login(garbage, {})
    assert result.logged_in is None
    assert "exited 3" in (result.message or "")
    assert "oops" in (result.message or "")
    missing = await probe_cli_login([str(tmp_path / "no-such-binary")], {})
    assert missing.logged_in is None
    hanging = _script(tmp_path, "import time\ntime.sleep(30)\n")
    slow = await probe_cli_login(hanging, {}, timeout_s=0.3)
    assert slow == ProbeResult(logged_in=None, message="the auth status probe timed out")


@pytest.mark.anyio
async def test_the_real_cli_reports_a_missing_login() -> None:
    # `claude auth status` with an empty config dir: no login, and no network use.
    cli = claude_cli_path()
    assert cli is not None
    with tempfile.TemporaryDirectory() as home:
        env = {
            "HOME": home,
            "PATH": "/usr/bin:/bin",
            "CLAUDE_CONFIG_DIR": str(Path(home) / ".claude"),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        result = await probe_cli_login([cli, "auth", "status", "--json"], env)
    assert result.logged_in is False
    assert result.auth_method == "none"


@pytest.mark.anyio
async def test_probe_loop_probes_at_once_and_then_on_its_interval() -> None:
    login, _ = health()
    verdicts = [ProbeResult(logged_in=False), ProbeResult(logged_in=True)]
    seen = anyio.Event()
    calls = 0

    async def probe() -> ProbeResult:
        nonlocal calls
        calls += 1
        if calls == len(verdicts):
            seen.set()
        return verdicts[min(calls, len(verdicts)) - 1]

    async with anyio.create_task_group() as group:
        group.start_soon(run_probe_loop, login, probe, 0.01)
        with anyio.fail_after(5):
            await seen.wait()
        group.cancel_scope.cancel()
    assert calls >= 2
    assert login.ok is True
