"""The CLI's environment is an allow-list, enforced by the launcher the SDK runs."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from wrapper.backend.cli_environment import (
    KEEP_VARIABLE,
    host_environment,
    install_launcher,
    launched,
)
from wrapper.backend.options import CliRuntime, build_options
from wrapper.backend.profile import Profile
from wrapper.backend.tool_gate import ToolGate

HOST = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/op",
    "LC_ALL": "C.UTF-8",
    "ANTHROPIC_BASE_URL": "http://127.0.0.1:1",
    "API_KEY": "server-key",
    "SESSION_STORE_URL": "redis://:pw@db:6379/0",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "LISTED": "yes",
    "bad name": "x",
}


def test_the_host_environment_keeps_only_the_allow_list_and_listed_names() -> None:
    kept = host_environment(HOST, ["LISTED"])
    assert kept == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/op",
        "LC_ALL": "C.UTF-8",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:1",
        "LISTED": "yes",
    }


def test_the_launcher_runs_the_cli_with_only_the_kept_names(tmp_path: Path) -> None:
    launcher = install_launcher(tmp_path / "bin").path
    assert launcher.stat().st_mode & 0o777 == 0o700
    printer = shutil.which("env")
    assert printer is not None
    wanted = {"PATH": "/usr/bin:/bin", "ODD": "a b\n$HOME 'q' \"d\" `x`", "EMPTY": ""}
    env = {**HOST, **launched(wanted, printer)}
    out = subprocess.run(
        [str(launcher), "-0"], env=env, capture_output=True, check=True, timeout=10
    ).stdout.decode()
    seen = dict(item.split("=", 1) for item in out.split("\0") if item)
    seen.pop("PWD", None)  # the shell sets it; the SDK sets it too (kept)
    assert seen == wanted


_PRINT_DEATH_SIGNAL = (
    "import ctypes, sys; sig = ctypes.c_int(); "
    "ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0); print(sig.value)"
)


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="no setpriv on this platform")
def test_the_launcher_continues_the_cli_when_its_parent_dies(tmp_path: Path) -> None:
    launcher = install_launcher(tmp_path / "bin")
    assert launcher.continues_on_parent_death
    env = {**HOST, **launched({"PATH": "/usr/bin:/bin"}, sys.executable)}
    out = subprocess.run(
        [str(launcher.path), "-c", _PRINT_DEATH_SIGNAL],
        env=env,
        capture_output=True,
        check=True,
        timeout=10,
    ).stdout.decode()
    # PR_GET_PDEATHSIG in the CLI's place: a CLI frozen while idle runs again (and
    # exits, its stdin closed) when the server dies, however it dies.
    assert int(out) == signal.SIGCONT


def test_options_name_the_launcher_and_the_kept_names() -> None:
    runtime = CliRuntime(
        config_dir="/tmp/c",
        cwd="/tmp/w",
        host_env={"PATH": "/bin"},
        launcher="/data/bin/claude-env-launcher",
        cli="/sdk/claude",
    )
    options = build_options(runtime, Profile(system_prompt=""), model=None, gate=ToolGate())
    assert options.cli_path == "/data/bin/claude-env-launcher"
    keep = options.env[KEEP_VARIABLE].split()
    assert "PATH" in keep and "CLAUDE_CONFIG_DIR" in keep and "CLAUDE_CODE_ENTRYPOINT" in keep
    assert "API_KEY" not in options.env
