"""Where the ``claude`` CLI the SDK runs lives (for running its own subcommands).

The SDK runs the CLI bundled in its wheel (``claude_agent_sdk/_bundled/claude``);
without one it falls back to ``claude`` on ``PATH``. The auth probe runs the same
binary (``claude auth status``), so it sees exactly what the turns see.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import claude_agent_sdk


def claude_cli_path() -> str | None:
    """The CLI binary the SDK would run, or ``None`` if there is none."""
    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if bundled.is_file():
        return str(bundled)
    return shutil.which("claude")
