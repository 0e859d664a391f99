"""The cold backend: one fresh CLI process per turn (``POOL_ENABLED=false``).

A single user message is sent on the CLI's stdin. A longer conversation is
written, whole, as a session transcript (the last user message included) and
the process is started with ``resume``: the CLI then answers that last message
as the continuation of an interrupted turn, so the model sees every turn —
tool calls and tool results included — exactly as the client sent them, and no
extra prompt. The process is stopped when the turn's context exits, however it
exits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio

from wrapper.backend.admission import Admission
from wrapper.backend.cli_process import CliProcess
from wrapper.backend.content import blocks
from wrapper.backend.options import CliRuntime, build_options
from wrapper.backend.profile import Profile, profile_for
from wrapper.backend.sdk_errors import error_for_exception
from wrapper.backend.tool_gate import ToolGate
from wrapper.backend.transcript import write_transcript
from wrapper.backend.turns import Deadline, read_turn, reader_for
from wrapper.errors import WrapperError
from wrapper.events import AgentEvent, Turn


async def spawn(
    runtime: CliRuntime,
    turn: Turn,
    profile: Profile,
    deadline: Deadline,
    *,
    label: str,
) -> tuple[CliProcess, ToolGate, Path | None]:
    """Start a CLI process for ``turn`` and start the turn on it.

    Returns the process, its tool gate and the transcript file written for it
    (to delete once the process has loaded it).

    Raises:
        BackendTimeoutError: the deadline passed while starting.
        WrapperError: the process could not be started.
    """
    transcript: Path | None = None
    resume: str | None = None
    if len(turn.messages) > 1:
        resume, transcript = await anyio.to_thread.run_sync(
            lambda: write_transcript(
                runtime.config_path, runtime.cwd, turn.messages, model=turn.model
            )
        )
    gate = ToolGate(refuse=profile.refuse_tool_calls)
    options = build_options(runtime, profile, model=turn.model, gate=gate, resume=resume)
    process = CliProcess(options, label=label)
    try:
        with anyio.fail_after(deadline.remaining()):
            await process.start()
            if resume is None:
                await process.send_user_message(blocks(turn.messages[-1].content))
            else:
                process.turns += 1
    except BaseException as exc:
        gate.close()
        await process.stop()
        remove_file(transcript)
        if isinstance(exc, TimeoutError):
            raise deadline.expired_error() from None
        if isinstance(exc, WrapperError) or not isinstance(exc, Exception):
            raise
        raise error_for_exception(exc, process.stderr_tail) from exc
    return process, gate, transcript


def remove_file(path: Path | None) -> None:
    if path is not None:
        with suppress(OSError):
            path.unlink()


class ColdBackend:
    """Spawns a CLI per turn; nothing is shared between turns."""

    def __init__(self, runtime: CliRuntime, admission: Admission, *, timeout_s: float) -> None:
        self.runtime = runtime
        self.admission = admission
        self.timeout_s = timeout_s

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        deadline = Deadline(self.timeout_s)
        profile = profile_for(turn)
        async with self.admission.slot(deadline.remaining()):
            process, gate, transcript = await spawn(
                self.runtime, turn, profile, deadline, label="cold"
            )
            try:
                yield read_turn(process, reader_for(turn, profile), deadline)
            finally:
                await process.stop()
                gate.close()
                remove_file(transcript)
