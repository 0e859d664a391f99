"""The system prompt handed to the CLI as a private file rather than a command-line argument.

One argument may hold at most 128 KiB on Linux, and none may hold a NUL byte, so a
prompt on the command line turns a large (normal for agents) or odd system prompt
into a failed spawn. ``--system-prompt-file`` has no such limit; the file is only
needed until the CLI has read its arguments, which it has once the SDK's
initialize handshake is answered.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from claude_agent_sdk import ClaudeAgentOptions


@contextmanager
def system_prompt_file(options: ClaudeAgentOptions) -> Iterator[None]:
    """While open, ``options`` names a 0600 file holding its system prompt.

    An empty or absent prompt stays as it is (the SDK sends it as an empty flag).
    """
    prompt = options.system_prompt
    if not isinstance(prompt, str) or not prompt:
        yield
        return
    directory = options.env.get("CLAUDE_CONFIG_DIR") or None
    if directory is not None and not Path(directory).is_dir():
        directory = None
    fd, path = tempfile.mkstemp(prefix="system-prompt-", suffix=".txt", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(prompt)
        options.system_prompt = {"type": "file", "path": path}
        yield
    finally:
        options.system_prompt = prompt
        with suppress(OSError):
            Path(path).unlink()
