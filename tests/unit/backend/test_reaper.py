"""The shutdown safety net: CLI children still alive are terminated, others left alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wrapper.backend.reaper import cli_children, stop_leftover_cli_processes

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def fake_cli(directory: Path) -> str:
    """A copy of ``sleep`` standing in for the bundled CLI (its path is in its cmdline)."""
    sleep = shutil.which("sleep")
    assert sleep is not None
    path = directory / "_bundled" / "claude"
    path.parent.mkdir()
    shutil.copy(sleep, path)
    return str(path)


async def test_leftover_cli_children_are_stopped_and_nothing_else(tmp_path: Path) -> None:
    cli = fake_cli(tmp_path)
    leftover = subprocess.Popen([cli, "60"])
    bystander = subprocess.Popen(["sleep", "60"])  # not the CLI: left alone
    try:
        assert cli_children(cli) == [leftover.pid]
        assert await stop_leftover_cli_processes(cli, grace_s=5) == [leftover.pid]
        assert leftover.wait(5) == -15  # SIGTERM was enough
        assert bystander.poll() is None
        assert cli_children(cli) == []
    finally:
        for child in (leftover, bystander):
            child.kill()
            child.wait()


async def test_nothing_to_do_without_leftovers_or_a_cli(tmp_path: Path) -> None:
    assert await stop_leftover_cli_processes(fake_cli(tmp_path)) == []
    assert await stop_leftover_cli_processes(None) == []
