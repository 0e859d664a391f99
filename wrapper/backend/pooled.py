"""The pooled backend: turns served by warm CLI processes (``POOL_ENABLED=true``).

How a turn finds its process:

1. **Parked tool turn.** The earlier messages are a conversation a process is
   parked in (its reply ended with client tool calls), and the new message is
   exactly the results of those calls: the results are handed to the waiting
   tool calls and the same CLI turn goes on.
2. **Affinity.** The earlier messages are the conversation a process holds
   (a stateless client resending its history plus the reply it got): only the
   new message is sent.
3. **Fresh.** A single user message: a clean process of the turn's profile.
4. **Shared start.** The earlier messages begin with a conversation a process
   holds, or with a prefix of one that ends before one of its user messages (a
   few-shot chat's examples, whose process had moved on to another client's turns):
   it is rewound there if need be, the rest is appended, and the last one is sent.
5. **Unseen.** Any other conversation: its earlier messages are appended, as they
   are, to a clean process (no upstream call: the model sees the real turns), and
   the last one is sent. Past ``SEED_MAX_USER_MESSAGES`` user messages, or when the
   CLI does not take them, a new process resumes it from a transcript instead (as
   the cold backend does) and joins the pool holding it.

After the turn the process holds the conversation (when what the client
received is exactly what the model produced), parks (client tool calls), or is
cleared, reset or replaced in the background — never on the response's path.
Whatever ends a turn — its end, an error, a disconnect, the deadline, at any
await from the claim on — its process is released and its admission slot freed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from wrapper.backend.admission import Admission
from wrapper.backend.fingerprint import conversation_digest, prefix_digests
from wrapper.backend.pool import PooledProcess, ProcessPool, Release
from wrapper.backend.pooled_sessions import PooledSessions
from wrapper.backend.profile import Profile, profile_for
from wrapper.backend.sdk_events import TurnReader
from wrapper.backend.session_link import SessionLeaser
from wrapper.backend.tool_gate import representable
from wrapper.backend.turns import Deadline, ReplyRecorder, read_turn, reader_for
from wrapper.events import AgentEvent, Message, ToolResultPart, Turn


def _parked_results(member: PooledProcess, message: Message) -> list[ToolResultPart] | None:
    """The tool results that resume ``member``'s parked turn, if ``message`` is exactly them."""
    results = [part for part in message.content if isinstance(part, ToolResultPart)]
    if len(results) != len(message.content):
        return None
    if frozenset(result.tool_use_id for result in results) != member.pending:
        return None
    if not all(representable(result) for result in results):
        return None
    return results


SEED_MAX_USER_MESSAGES = 64
"""The longest unseen history a warm process takes on by appending it. Appending costs
the server ~8-12 ms of CPU per user message (the CLI answers each with an init and an
empty result): about a spawn's CPU (~0.5 CPU-s, flat in length) at 50 user messages,
while it stays faster than a spawn to about 100, and a spawn also evicts a warm process
when the pool is full. Past this many, a new process resumes a transcript."""


def _seedable(messages: tuple[Message, ...]) -> bool:
    """Whether a warm process should take on this unseen conversation by appending it."""
    return sum(message.role == "user" for message in messages) <= SEED_MAX_USER_MESSAGES


def _holdable(turn: Turn, reader: TurnReader) -> bool:
    """Whether the client received exactly what the model produced."""
    return (
        not turn.stop_sequences
        and turn.output_schema is None
        and not turn.server_tools
        and reader.hidden_client_calls == 0
        and turn.tool_choice.mode != "none"
    )


class PooledBackend:
    """Serves turns from a :class:`ProcessPool` behind an :class:`Admission` cap."""

    def __init__(
        self,
        pool: ProcessPool,
        admission: Admission,
        *,
        timeout_s: float,
        sessions: SessionLeaser | None = None,
        transcript_cwd: str = "",
    ) -> None:
        self.pool = pool
        self.admission = admission
        self.timeout_s = timeout_s
        self.sessions = (
            None
            if sessions is None
            else PooledSessions(
                pool,
                sessions,
                transcript_cwd=transcript_cwd,
                start=self._start,
                go_on=self._continue,
            )
        )

    @asynccontextmanager
    async def open(self, turn: Turn) -> AsyncIterator[AsyncIterator[AgentEvent]]:
        deadline = Deadline(self.timeout_s)
        profile = profile_for(turn)
        async with self.admission.slot(deadline.remaining()):
            if turn.session_id is not None and self.sessions is not None:
                async with self.sessions.turn(turn, profile, deadline) as events:
                    yield events
                return
            member = await self._start(turn, profile, deadline)
            reader: TurnReader | None = None
            recorder = ReplyRecorder()
            try:
                reader = reader_for(turn, profile, cost_before=member.process.total_cost_usd)
                yield read_turn(member.process, reader, deadline, recorder)
            finally:
                self._release(member, turn, profile, reader, recorder)

    async def _start(self, turn: Turn, profile: Profile, deadline: Deadline) -> PooledProcess:
        """A process with ``turn`` running on it (released again if starting fails)."""
        messages = turn.messages
        if len(messages) == 1:
            member = await self.pool.take_clean(turn, profile, deadline)
            await self._send(member, turn)
            return member
        # One pass over the history: its digest, and those of its starts.
        starts = prefix_digests(profile.key, messages[:-1])
        held = self.pool.take_affine(starts[-1])
        if held is not None and await self._continue(held, turn):
            return held
        shared = self.pool.take_shared(starts, messages, SEED_MAX_USER_MESSAGES)
        if shared is not None:
            member, start = shared
            if await self.pool.begin_seeded(member, turn, deadline, start):
                return member
        if _seedable(messages):
            member = await self.pool.take_clean(turn, profile, deadline)
            if await self.pool.begin_seeded(member, turn, deadline):
                return member
        return await self.pool.spawn_for(turn, profile, deadline)

    async def _continue(self, member: PooledProcess, turn: Turn) -> bool:
        """Go on with the conversation ``member`` holds; False if it cannot (released)."""
        if member.pending:
            results = _parked_results(member, turn.messages[-1])
            if results is None or member.process.model != turn.model:
                self.pool.release(member, Release.DISCARD)
                return False
            self.pool.resume_parked(member, results)
            return True
        return await self._send(member, turn)

    async def _send(self, member: PooledProcess, turn: Turn) -> bool:
        """Start ``turn`` on ``member`` (the pool releases it if that fails); False
        when the rewind it needed was refused (released: use another process)."""
        return await self.pool.begin_turn(member, turn)

    def _release(
        self,
        member: PooledProcess,
        turn: Turn,
        profile: Profile,
        reader: TurnReader | None,
        recorder: ReplyRecorder,
    ) -> None:
        end = recorder.end
        if (
            reader is None
            or not reader.done
            or end is None
            or (not reader.result_seen and end.stop_reason != "tool_use")
        ):
            # Abandoned mid-turn (client gone, deadline, failure), or ended before the
            # CLI's own end (the output limit, after which it would go on by itself):
            # the process is replaced. An interrupt is not trusted to leave it clean
            # (an interrupt that lands while a turn is starting can cut the next turn).
            self.pool.release(member, Release.DISCARD)
            return
        conversation = (*turn.messages, recorder.message())
        if end.stop_reason == "tool_use" and not reader.result_seen:
            if reader.hidden_client_calls or not recorder.tool_use_ids:
                self.pool.release(member, Release.DISCARD)
                return
            self.pool.release(
                member,
                Release.PARK,
                digest=conversation_digest(profile.key, conversation),
                pending=frozenset(recorder.tool_use_ids),
            )
            return
        if profile.disposable:
            # Its working directory is removed with the turn: no later turn can use it.
            self.pool.release(member, Release.DISCARD)
        elif _holdable(turn, reader):
            self.pool.release(
                member, Release.HOLD, digest=conversation_digest(profile.key, conversation)
            )
        else:
            self.pool.release(member, Release.CLEAR)
