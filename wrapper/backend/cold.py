"""The cold backend: one fresh CLI process per turn (``POOL_ENABLED=false``).

Each turn's process is started by :func:`wrapper.backend.spawn.spawn` and stopped
when the turn's context exits, however it exits; nothing is shared between turns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from wrapper.backend.admission import Admission
from wrapper.backend.options import CliRuntime
from wrapper.backend.profile import Profile, profile_for
from wrapper.backend.session_link import SessionLeaser, SessionLink
from wrapper.backend.spawn import SessionStart, committing, remove_file, spawn
from wrapper.backend.turns import Deadline, read_turn, reader_for
from wrapper.events import AgentEvent, Turn


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
