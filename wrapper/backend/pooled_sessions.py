"""Client-session turns on the pooled backend, under their session lease.

Two ways, one per turn (see ``kept_sessions`` for which):

* **Kept**: the session runs on shared warm processes and the server writes its
  transcript. The process holding the session (same turn count as the record) goes
  on with it; else a clean one takes on the stored conversation; a new session
  takes a clean one. No spawn, and no process is tied up by an idle session.
* **Mirrored**: the process is started for the session (``resume`` from the store,
  or a new CLI session id) and the CLI mirrors its own transcript to the store; it
  stays pinned to the session and serves no one else.

Either way the turn is made durable before its end reaches the client, and its
process is released however the turn ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import msgspec

from wrapper.backend.kept_sessions import ModelReplyRecorder, kept, read_back, turn_entries
from wrapper.backend.pool import PooledProcess, ProcessPool, Release
from wrapper.backend.profile import Profile
from wrapper.backend.sdk_events import TurnReader
from wrapper.backend.session_link import SessionLeaser, SessionLink, TurnLease, session_digest
from wrapper.backend.spawn import SessionStart, committing
from wrapper.backend.turns import Deadline, ReplyRecorder, read_turn, reader_for
from wrapper.events import AgentEvent, Message, Turn, TurnEnd

Start = Callable[[Turn, Profile, Deadline], Awaitable[PooledProcess]]
GoOn = Callable[[PooledProcess, Turn], Awaitable[bool]]


class PooledSessions:
    """Runs session turns on the pool (``start`` and ``go_on`` are the backend's own
    ways to start a conversation on a process and to go on with a held one)."""

    def __init__(
        self,
        pool: ProcessPool,
        sessions: SessionLeaser,
        *,
        transcript_cwd: str,
        start: Start,
        go_on: GoOn,
    ) -> None:
        self.pool = pool
        self.sessions = sessions
        self.transcript_cwd = transcript_cwd
        self._start = start
        self._go_on = go_on

    @asynccontextmanager
    async def turn(
        self, turn: Turn, profile: Profile, deadline: Deadline
    ) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        async with self.sessions.lease(turn.session_id or "", model=turn.model) as lease:
            found = await self._kept_process(turn, profile, deadline, lease)
            way = (
                self._kept(turn, profile, deadline, lease, found)
                if found is not None
                else self._mirrored(turn, profile, deadline, lease)
            )
            async with way as events:
                yield events

    async def _kept_process(
        self, turn: Turn, profile: Profile, deadline: Deadline, lease: TurnLease
    ) -> tuple[PooledProcess, str | None] | None:
        """The process a kept turn runs on (the turn started on it) and the id of the
        session's last transcript entry; None when the turn goes the mirrored way."""
        if not kept(turn, profile):
            return None
        history: list[Message] = []
        tail: str | None = None
        if not lease.is_new:
            member = self.pool.take_affine(
                session_digest(lease.session_id, lease.record.turn_count)
            )
            if member is not None and member.link is not None:
                self.pool.give_back(member)  # a process the CLI mirrors holds it
                return None
            if member is not None and member.profile != profile:
                self.pool.release(member, Release.DISCARD)
                member = None
            if member is not None:
                tail = member.session_tail
                if await self._go_on(member, turn):
                    self.pool.note_kept_session()
                    return member, tail
            found = read_back(await lease.store.load(lease.key) or [])
            if found is None:
                return None
            history, tail = found
        whole = msgspec.structs.replace(turn, messages=(*history, *turn.messages))
        member = await self._start(whole, profile, deadline)
        self.pool.note_kept_session()
        return member, tail

    @asynccontextmanager
    async def _kept(
        self,
        turn: Turn,
        profile: Profile,
        deadline: Deadline,
        lease: TurnLease,
        found: tuple[PooledProcess, str | None],
    ) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        """On ``found``'s process (the turn started on it), the transcript written here."""
        member, tail = found
        recorder = ModelReplyRecorder()
        written: list[str] = []

        async def keep(end: TurnEnd) -> None:
            entries = turn_entries(
                turn.messages,
                recorder.model_message(),
                parent=tail,
                session_id=lease.claude_session_id,
                cwd=self.transcript_cwd,
                model=turn.model,
            )
            await lease.store.append(lease.key, entries)
            await lease.commit(model=end.model)
            written.append(entries[-1]["uuid"])

        reader: TurnReader | None = None
        try:
            reader = reader_for(turn, profile, cost_before=member.process.total_cost_usd)
            yield read_turn(member.process, reader, deadline, recorder, before_end=keep)
        finally:
            if written:
                member.session_tail = written[-1]
            # A reply with calls the client did not see differs from the transcript
            # written: the process is not kept holding it.
            hidden = reader is not None and reader.hidden_client_calls > 0
            self._release(member, lease, reader, recorder, committed=bool(written) and not hidden)

    @asynccontextmanager
    async def _mirrored(
        self, turn: Turn, profile: Profile, deadline: Deadline, lease: TurnLease
    ) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        """On the process pinned to the session when it is current (same turn count as
        the session record), else on a process resumed from the session store."""
        member = None
        if not lease.is_new:
            member = self.pool.take_affine(
                session_digest(lease.session_id, lease.record.turn_count)
            )
            if member is not None and member.link is None:
                # A kept session's process: this turn needs one the CLI mirrors.
                self.pool.release(member, Release.CLEAR)
                member = None
            if member is not None and member.profile != profile:
                # The session's next turn asks for another start-up configuration (a
                # new system prompt, other tools): resume it on a process of that one.
                self.pool.release(member, Release.DISCARD)
                member = None
            if member is not None and not await self._resume_pinned(member, turn, lease):
                member = None
        if member is None:
            link = SessionLink(lease.store)
            member = await self.pool.spawn_for(
                turn, profile, deadline, session=SessionStart(lease=lease, link=link)
            )
        reader: TurnReader | None = None
        recorder = ReplyRecorder()
        try:
            reader = reader_for(turn, profile, cost_before=member.process.total_cost_usd)
            yield read_turn(
                member.process, reader, deadline, recorder, before_end=committing(lease)
            )
        finally:
            if member.link is not None:
                member.link.detach()
            self._release(member, lease, reader, recorder, committed=recorder.end is not None)

    async def _resume_pinned(self, member: PooledProcess, turn: Turn, lease: TurnLease) -> bool:
        """Go on with the session on its pinned process; False if it cannot (released)."""
        link = member.link
        assert link is not None
        try:
            await link.attach(lease.store)
        except BaseException:
            link.detach()
            self.pool.release(member, Release.DISCARD)
            raise
        resumed = False
        try:
            resumed = await self._go_on(member, turn)
        finally:
            if not resumed:
                link.detach()
        return resumed

    def _release(
        self,
        member: PooledProcess,
        lease: TurnLease,
        reader: TurnReader | None,
        recorder: ReplyRecorder,
        *,
        committed: bool,
    ) -> None:
        """Keep the process holding its session when the turn was committed."""
        end = recorder.end
        digest = session_digest(lease.session_id, lease.record.turn_count)
        if not committed or end is None or reader is None or not reader.done:
            self.pool.release(member, Release.DISCARD)
        elif reader.result_seen:
            self.pool.release(member, Release.HOLD, digest=digest)
        elif (
            end.stop_reason == "tool_use"
            and not reader.hidden_client_calls
            and recorder.tool_use_ids
        ):
            pending = frozenset(recorder.tool_use_ids)
            self.pool.release(member, Release.PARK, digest=digest, pending=pending)
        else:
            self.pool.release(member, Release.DISCARD)
