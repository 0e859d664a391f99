"""Who holds a session lease, told apart well enough to know when the holder died.

A lease token names its holder process: ``host/boot/pid/start/random``. A process
killed mid-turn (kill -9, a crash, a power cut) cannot release its lease, which
would then stay held for the whole hold (``MAX_TIMEOUT`` and a grace). A turn that
finds a session held by a process of *this* machine that no longer runs (its pid
is gone, was reused, or the machine has rebooted since) takes the lease over at
once. A holder on another machine (a replica on a shared Redis) cannot be checked
from here; its lease runs out by itself.
"""

from __future__ import annotations

import os
import secrets
import socket
from contextlib import suppress
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _boot_id() -> str:
    with suppress(OSError):
        return _BOOT_ID.read_text(encoding="ascii").strip()
    return "unknown"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc``), if it runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    # A zombie (killed, not yet reaped by whoever adopted it) runs nothing and holds nothing.
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19] if len(fields) > 19 else None


def _host() -> str:
    return socket.gethostname().replace("/", "_") or "unknown"


def new_token() -> str:
    """A fresh lease token naming this process."""
    pid = os.getpid()
    start = _start_time(pid) or "0"
    return "/".join((_host(), _boot_id(), str(pid), start, secrets.token_hex(12)))


def holder_is_dead(token: str) -> bool:
    """Whether ``token`` names a process of this machine that no longer runs.

    Tokens of other machines, and tokens that name no process (another format),
    are never called dead.
    """
    parts = token.split("/")
    if len(parts) != 5 or parts[0] != _host():
        return False
    _, boot, pid, start, _ = parts
    if boot != _boot_id():
        return boot != "unknown"
    if not pid.isdigit():
        return False
    return _start_time(int(pid)) != start
