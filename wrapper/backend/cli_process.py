"""One ``claude`` CLI process, driven through a connected ``ClaudeSDKClient``.

The process lives from :meth:`CliProcess.start` to :meth:`CliProcess.stop`.
Stopping is shielded and bounded: the OS process is terminated directly (SIGTERM,
then SIGKILL after a grace period) because closing the SDK iterator alone leaves
the CLI generating. This is the only module that reaches into the SDK client's
transport, to learn the child's pid and to signal it; the SDK version is pinned
for that reason.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

import anyio
from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient
from claude_agent_sdk.types import Message as SdkMessage

from wrapper.logging import get_logger

log = get_logger(__name__)

_STDERR_LINES = 40
_TERMINATE_GRACE_S = 2.0


class CliProcess:
    """A connected CLI process with the bookkeeping the pool needs."""

    def __init__(self, options: ClaudeAgentOptions, *, label: str = "") -> None:
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        options.stderr = self._stderr.append
        self.options = options
        self.label = label
        self._client = ClaudeSDKClient(options)
        self.pid: int | None = None
        self.started_at = time.monotonic()
        self.last_used = self.started_at
        self.turns = 0
        self.alive = False

    @property
    def stderr_tail(self) -> str:
        """The last lines the CLI wrote to stderr (for diagnosing failures)."""
        return "\n".join(self._stderr)

    async def start(self) -> None:
        """Spawn the CLI and complete the SDK's initialize handshake."""
        await self._client.connect()
        self.alive = True
        transport = getattr(self._client, "_transport", None)
        process = getattr(transport, "_process", None)
        self.pid = getattr(process, "pid", None)
        log.debug("backend.process_spawned", pid=self.pid, label=self.label)

    async def send_user_message(self, content: list[dict[str, Any]] | str) -> None:
        """Send one user message; the CLI starts a turn for it.

        The message is marked ``client_composed``: the CLI delivers it as written,
        with no ``@path`` file-mention expansion and no slash-command dispatch.
        """
        message = {
            "type": "user",
            "message": {"role": "user", "content": content},
            "parent_tool_use_id": None,
            "client_composed": True,
        }
        await self._client.query(_once(message))
        self.turns += 1
        self.last_used = time.monotonic()

    async def send_command(self, command: str) -> None:
        """Send a slash command (``/clear``, ``/effort high``) as typed input."""
        await self._client.query(command)
        self.last_used = time.monotonic()

    def messages(self) -> AsyncIterator[SdkMessage]:
        """The CLI's messages, parsed by the SDK, until the process ends."""
        return self._client.receive_messages()

    async def set_model(self, model: str) -> None:
        """Switch the model of the live process (applies to the next turn)."""
        await self._client.set_model(model)

    def rss_bytes(self) -> int | None:
        """Resident memory of the CLI process, from ``/proc`` (Linux only)."""
        if self.pid is None:
            return None
        try:
            with open(f"/proc/{self.pid}/statm", encoding="ascii") as statm:  # noqa: PTH123
                pages = int(statm.read().split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return pages * os.sysconf("SC_PAGE_SIZE")

    async def stop(self, *, graceful: bool = False) -> None:
        """End the process; never raises, never leaves it running.

        With ``graceful`` the CLI gets end-of-input and a moment to exit on its
        own (a finished turn); otherwise it is signalled at once (an abandoned or
        timed-out turn, which would otherwise keep generating).
        """
        if not self.alive:
            return
        self.alive = False
        with anyio.CancelScope(shield=True):
            process = getattr(getattr(self._client, "_transport", None), "_process", None)
            if not graceful and process is not None and process.returncode is None:
                with suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                with anyio.move_on_after(_TERMINATE_GRACE_S):
                    await process.wait()
                if process.returncode is None:
                    with suppress(ProcessLookupError):
                        process.kill()
            with anyio.move_on_after(15), suppress(Exception):
                await self._client.disconnect()
            if process is not None and process.returncode is None:
                with suppress(ProcessLookupError):
                    process.kill()
                with anyio.move_on_after(5), suppress(Exception):
                    await process.wait()
        log.debug("backend.process_stopped", pid=self.pid, label=self.label, turns=self.turns)


async def _once(message: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield message
