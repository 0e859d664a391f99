"""The last step of shutdown: no ``claude`` CLI process outlives the server.

Every CLI process is normally stopped by its owner — the turn (cold backend) or the
pool (``ProcessPool.close``) — before this runs. This is the safety net for the
narrow cases an owner cannot cover at shutdown: a process whose start was cancelled
half-way (a pool spare starting when the server stopped), a pool housekeeping stop
that was cancelled before it began. It looks for
live child processes of this server running the bundled CLI (from ``/proc``; Linux
only), sends them SIGTERM, and SIGKILL to any still alive after a short grace.
"""

from __future__ import annotations

import os
import signal
from contextlib import suppress
from pathlib import Path

import anyio

from wrapper.logging import get_logger

log = get_logger(__name__)

TERMINATE_GRACE_S = 3.0


def _is_cli_child(entry: Path, parent: int, cli_path: str) -> bool:
    try:
        stat = (entry / "stat").read_text()
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] == "Z" or int(fields[1]) != parent:
            return False
        return cli_path.encode() in (entry / "cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return False


def cli_children(cli_path: str, parent: int | None = None) -> list[int]:
    """Live (not zombie) children of ``parent`` (default: this process) running ``cli_path``."""
    parent = os.getpid() if parent is None else parent
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    return [
        int(entry.name)
        for entry in proc.iterdir()
        if entry.name.isdigit() and _is_cli_child(entry, parent, cli_path)
    ]


def _signal(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


async def stop_leftover_cli_processes(
    cli_path: str | None, grace_s: float = TERMINATE_GRACE_S
) -> list[int]:
    """Terminate (then kill) CLI children still alive; returns the pids found."""
    if not cli_path:
        return []
    found = cli_children(cli_path)
    if not found:
        return []
    log.info("backend.leftover_cli_processes", pids=found)
    _signal(found, signal.SIGTERM)
    # A CLI frozen while idle keeps the SIGTERM pending until it runs again.
    _signal(found, signal.SIGCONT)
    with anyio.move_on_after(grace_s):
        # Polling /proc: their owner lost them, so there is no handle to wait on.
        while cli_children(cli_path):  # noqa: ASYNC110
            await anyio.sleep(0.05)
    # Re-read: a pid that exited and was reaped is no longer ours to signal.
    _signal(cli_children(cli_path), signal.SIGKILL)
    return found
