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

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
import msgspec

from wrapper.backend.admission import Admission
from wrapper.backend.cli_process import CliProcess
from wrapper.backend.content import blocks
from wrapper.backend.options import CliRuntime, build_options
from wrapper.backend.profile import Profile, profile_for
from wrapper.backend.sdk_errors import error_for_exception
from wrapper.backend.session_link import SessionLeaser, SessionLink
from wrapper.backend.tool_gate import ToolGate
from wrapper.backend.transcript import transcript_entries, write_transcript
from wrapper.backend.turns import Deadline, read_turn, reader_for
from wrapper.errors import WrapperError
from wrapper.events import AgentEvent, Turn, TurnEnd


class SessionStart(msgspec.Struct, frozen=True):
    """A turn of a client session: its lease and the store link its process mirrors to."""

    lease: Any
    link: SessionLink


async def _session_launch(
    runtime: CliRuntime, turn: Turn, session: SessionStart
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
        turn.messages, session_id=lease.claude_session_id, cwd=runtime.cwd, model=turn.model
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
    gate = ToolGate(refuse=profile.refuse_tool_calls)
    if session is not None:
        launch, send_last = await _session_launch(runtime, turn, session)
    elif len(turn.messages) > 1:
        resume, transcript = await anyio.to_thread.run_sync(
            lambda: write_transcript(
                runtime.config_path, runtime.cwd, turn.messages, model=turn.model
            )
        )
        launch, send_last = {"resume": resume, "answer_last": True}, False
    else:
        launch, send_last = {}, True
    options = build_options(runtime, profile, model=turn.model, gate=gate, **launch)
    process = CliProcess(options, label=label)
    try:
        with anyio.fail_after(deadline.remaining()):
            await process.start()
            if send_last:
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


def committing(lease: Any) -> Callable[[TurnEnd], Awaitable[None]]:
    """The hook that makes a session turn durable before its end reaches the client."""

    async def commit(end: TurnEnd) -> None:
        await lease.commit(model=end.model)

    return commit


def remove_file(path: Path | None) -> None:
    if path is not None:
        with suppress(OSError):
            path.unlink()


class ColdBackend:
    """Spawns a CLI per turn; nothing is shared between turns."""

    def __init__(
        self,
        runtime: CliRuntime,
        admission: Admission,
        *,
        timeout_s: float,
        sessions: SessionLeaser | None = None,
    ) -> None:
        self.runtime = runtime
        self.admission = admission
        self.timeout_s = timeout_s
        self.sessions = sessions

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        deadline = Deadline(self.timeout_s)
        profile = profile_for(turn)
        async with self.admission.slot(deadline.remaining()):
            if turn.session_id is not None and self.sessions is not None:
                async with self.sessions.lease(turn.session_id, model=turn.model) as lease:
                    session = SessionStart(lease=lease, link=SessionLink(lease.store))
                    async with self._run(turn, profile, deadline, session) as events:
                        yield events
            else:
                async with self._run(turn, profile, deadline, None) as events:
                    yield events

    @asynccontextmanager
    async def _run(
        self, turn: Turn, profile: Profile, deadline: Deadline, session: SessionStart | None
    ) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        process, gate, transcript = await spawn(
            self.runtime, turn, profile, deadline, label="cold", session=session
        )
        reader = reader_for(turn, profile)
        hook = committing(session.lease) if session is not None else None
        try:
            yield read_turn(process, reader, deadline, before_end=hook)
        finally:
            await process.stop()
            gate.close()
            remove_file(transcript)
            if session is not None:
                session.link.detach()
