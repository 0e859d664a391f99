"""Whether Claude Code can sandbox its Bash tool on this machine, and the settings for it.

The bundled CLI sandboxes Bash commands with bubblewrap (and socat for its
network proxy) on Linux and with Seatbelt on macOS: a sandboxed command can
write only inside its working directory (the conversation's workspace) and
reaches no network. Other tools (Read, Write, Edit, WebFetch...) are held by
the permission mode and the tool set instead, and MCP servers run unsandboxed.
"""

from __future__ import annotations

import platform
import shutil
from typing import Any


def sandbox_available() -> bool:
    """Whether this platform has what the CLI's Bash sandbox needs."""
    system = platform.system()
    if system == "Darwin":
        return shutil.which("sandbox-exec") is not None
    if system == "Linux":
        return shutil.which("bwrap") is not None and shutil.which("socat") is not None
    return False


def sandbox_settings(required: bool) -> dict[str, Any]:
    """The SDK's ``sandbox`` option: every Bash command sandboxed, none let out.

    ``required``: a process whose sandbox cannot start fails rather than running
    commands unsandboxed.
    """
    return {
        "enabled": True,
        "autoAllowBashIfSandboxed": True,
        "allowUnsandboxedCommands": False,
        "failIfUnavailable": required,
    }
