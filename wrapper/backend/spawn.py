"""Starting a CLI process on a turn: the spawning library of both backends.

A single user message is sent on the CLI's stdin. A longer conversation is
written, whole, as a session transcript (the last user message included) and
the process is started with ``resume``: the CLI then answers that last message
as the continuation of an interrupted turn, so the model sees every turn (tool
calls and tool results included) exactly as the client sent them, and no extra
prompt. A client session's turn starts from the session store instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import anyio
import msgspec

from wrapper.backend.cli_process import CliProcess
from wrapper.backend.content import blocks
from wrapper.backend.options import CliRuntime, build_options
from wrapper.backend.profile import Profile
from wrapper.backend.session_link import SessionLink
from wrapper.backend.tool_gate import ToolGate
from wrapper.backend.transcript import transcript_entries, write_transcript
from wrapper.backend.turns import Deadline
from wrapper.events import Turn, TurnEnd


class SessionStart(msgspec.Struct, frozen=True):
    """A turn of a client session: its lease and the store link its process mirrors to."""

    lease: Any
    link: SessionLink


async def _session_launch(
    runtime: CliRuntime, turn: Turn, profile: Profile, session: SessionStart
) -> tuple[dict[str, Any], bool]:
    """How to start a process on a session turn: its options, and whether the last
    message still has to be sent on stdin."""
    lease = session.lease
    common: dict[str, Any] = {"persist": True, "session_store": session.link}
    if not lease.is_new:
        # The session lives in the store; the SDK materialises it for ``resume``.
        return {**common, "resume": lease.claude_session_id}, True
    if len(turn.messages) == 1:
        return {**common, "session_id": lease.claude_session_id}, True
    # A new session that starts from a client-sent history: seed the store with the
    # whole conversation, then resume it and answer its last message.
    entries = transcript_entries(
        turn.messages,
        session_id=lease.claude_session_id,
        cwd=runtime.cwd_for(profile),
        model=turn.model,
    )
    await lease.store.append(lease.key, entries)
    return {**common, "resume": lease.claude_session_id, "answer_last": True}, False


async def spawn(
    runtime: CliRuntime,
    turn: Turn,
    profile: Profile,
    deadline: Deadline,
    *,
    label: str,
    session: SessionStart | None = None,
) -> tuple[CliProcess, ToolGate, Path | None]:
    """Start a CLI process for ``turn`` and start the turn on it.

    Returns the process, its tool gate and the transcript file written for it
    (to delete once the process has loaded it).

    Raises:
        BackendTimeoutError: the deadline passed while starting.
        WrapperError: the process could not be started.
    """
    transcript: Path | None = None
    process: CliProcess | None = None
    gate = ToolGate(refuse=profile.refuse_tool_calls)
    user_ids: list[str] = []
    try:
        if session is not None:
            launch, send_last = await _session_launch(runtime, turn, profile, session)
        elif len(turn.messages) > 1:
            resume, transcript, user_ids = await anyio.to_thread.run_sync(
                lambda: write_transcript(
                    runtime.config_path, runtime.cwd_for(profile), turn.messages, model=turn.model
                )
            )
            launch, send_last = {"resume": resume, "answer_last": True}, False
        else:
            launch, send_last = {}, True
        options = build_options(runtime, profile, model=turn.model, gate=gate, **launch)
        process = CliProcess.of(runtime, options, label=label)
        process.loaded(user_ids)
        with anyio.fail_after(deadline.remaining()):
            await process.start()
            if send_last:
                await process.send_user_message(blocks(turn.messages[-1].content))
            else:
                process.turns += 1
    except BaseException as exc:
        gate.close()
        if process is not None:
            await process.stop()
        remove_file(transcript)
        if isinstance(exc, TimeoutError):
            raise deadline.expired_error() from None
        raise
    return process, gate, transcript


def committing(lease: Any) -> Callable[[TurnEnd], Awaitable[None]]:
    """The hook that makes a session turn durable before its end reaches the client."""

    async def commit(end: TurnEnd) -> None:
        await lease.commit(model=end.model)

    return commit


def remove_file(path: Path | None) -> None:
    if path is not None:
        with suppress(OSError):
            path.unlink()
