"""The session service: what the conversation engine and the sessions API use.

A turn on a client session runs inside :meth:`SessionManager.lease`::

    async with manager.lease(session_id, model=model) as lease:
        options = ClaudeAgentOptions(
            session_store=lease.store,
            session_id=lease.claude_session_id if lease.is_new else None,
            resume=None if lease.is_new else lease.claude_session_id,
            ...
        )
        ... run the turn; once its ResultMessage arrived (the SDK flushes the
        ... transcript to the store before yielding it):
        await lease.commit(model=model)

The lease serialises turns on one session across every replica (a second one
gets 409). Leaving the block without :meth:`SessionLease.commit` rolls the turn
back: a new session is forgotten with its transcript, an existing one's
transcript is cut back to where the turn began.

A server killed during a turn can do neither. So the kept length of every
transcript is recorded (a *mark*, in a subkey the SDK never sees) when a turn
commits and when its lease ends, and the next lease cuts anything past the mark:
a turn that never committed never appears. And a lease whose holder process is
known to be dead (see :mod:`wrapper.sessions.holders`) is taken over at once,
instead of blocking the session for the rest of its hold.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import NoReturn, TypeVar

import anyio

from wrapper.errors import BackendUnavailableError, ConflictError, NotFoundError
from wrapper.logging import get_logger
from wrapper.sessions.holders import holder_is_dead, new_token
from wrapper.sessions.ids import validate_session_id
from wrapper.sessions.leased_store import LeasedTranscripts
from wrapper.sessions.protocols import Clock, SessionBusyError, SessionIndex, TranscriptStore
from wrapper.sessions.records import Acquired, SessionRecord, SessionStats
from wrapper.sessions.sdk_types import SessionKey, SessionStoreEntry, main_key, marks_key

T = TypeVar("T")

log = get_logger(__name__)

PROJECT_KEY = "claude-wrapper"
"""The SDK project key of every transcript this server stores (see LeasedTranscripts)."""

_CLEANUP_DEADLINE_S = 15.0


class SessionLease:
    """One turn's hold on a session. Built by :meth:`SessionManager.lease` only."""

    def __init__(
        self, manager: SessionManager, record: SessionRecord, *, token: str, created: bool
    ) -> None:
        self._manager = manager
        self._token = token
        self.record = record
        self.is_new = created
        self.store = LeasedTranscripts(manager.transcripts, project_key=manager.project_key)
        self.committed = False
        self.lost = False
        self.mark = 0

    @property
    def session_id(self) -> str:
        """The client's session id."""
        return self.record.session_id

    @property
    def claude_session_id(self) -> str:
        """The CLI's session id (a UUID): ``session_id`` when new, else ``resume``."""
        return self.record.claude_session_id

    @property
    def key(self) -> SessionKey:
        """The store key of this session's main transcript."""
        return main_key(self._manager.project_key, self.claude_session_id)

    async def commit(self, *, model: str | None = None) -> SessionRecord:
        """Record the completed turn (turn count, last active, model, expiry).

        Call it once the turn's transcript is in the store: after the SDK yielded
        the turn's ``ResultMessage``.

        Raises:
            BackendUnavailableError: part of the transcript could not be stored (the
                turn is rolled back), or the store is unreachable.
            ConflictError: the lease ran out and another turn took the session.
        """
        if self.committed:
            return self.record
        if not self.store.intact:
            log.error(
                "sessions.transcript_incomplete",
                session_id=self.session_id,
                failures=self.store.failures,
            )
            raise BackendUnavailableError(
                "The conversation could not be saved to the session store; "
                "this turn was not kept. Retry the request.",
                code="session_store_failed",
                retry_after=1,
            )
        manager = self._manager
        record = await manager.guard(
            manager.index.commit(
                self.session_id,
                token=self._token,
                model=model,
                now=manager.clock(),
                ttl_s=manager.ttl_s,
            )
        )
        if record is None:
            self.lost = True
            raise ConflictError(
                f"Session {self.session_id!r} was taken over by another request "
                "while this turn ran past its lease; this turn was not kept.",
                code="session_lease_lost",
            )
        await manager.guard(manager.transcripts.retain(self.key))
        self.record = record
        self.committed = True
        await manager.guard(manager.save_mark(self.claude_session_id))
        return record

    async def renew(self, hold_s: float | None = None) -> None:
        """Extend the lease (for a turn that may outlast the hold it was given).

        Raises:
            ConflictError: the lease was lost.
        """
        manager = self._manager
        held = await manager.guard(
            manager.index.renew(
                self.session_id,
                token=self._token,
                now=manager.clock(),
                hold_s=hold_s or manager.hold_s,
            )
        )
        if not held:
            self.lost = True
            raise ConflictError(
                f"Session {self.session_id!r} is no longer held by this request.",
                code="session_lease_lost",
            )

    async def _finish(self) -> None:
        """Release the lease; roll an uncommitted turn back first (never raises)."""
        self.store.close()
        manager = self._manager
        discard = not self.committed and self.is_new
        try:
            if not self.committed and not self.lost:
                if self.is_new:
                    await manager.transcripts.delete(self.key)
                else:
                    await manager.transcripts.truncate(self.key, self.mark)
            if not self.lost and not discard:
                await manager.save_mark(self.claude_session_id)
            await manager.index.release(
                self.session_id, token=self._token, discard=discard, now=manager.clock()
            )
        except manager.errors:
            log.exception("sessions.release_failed", session_id=self.session_id)


class SessionManager:
    """Session records, leases, expiry and transcripts over one backend."""

    def __init__(
        self,
        *,
        index: SessionIndex,
        transcripts: TranscriptStore,
        ttl_s: float,
        hold_s: float,
        clock: Clock = time.time,
        project_key: str = PROJECT_KEY,
        sweep_interval_s: float | None = 60.0,
    ) -> None:
        self.index = index
        self.transcripts = transcripts
        self.ttl_s = ttl_s
        self.hold_s = hold_s
        self.clock = clock
        self.project_key = project_key
        self.sweep_interval_s = sweep_interval_s
        self.errors: tuple[type[Exception], ...] = transcripts.errors

    @property
    def kind(self) -> str:
        """``sqlite``, ``redis`` or ``memory``."""
        return self.transcripts.kind

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """Await a store call, turning a store failure into a 503.

        Raises:
            BackendUnavailableError: the store failed or is unreachable.
        """
        try:
            return await awaitable
        except self.errors as exc:
            log.warning("sessions.store_failed", store=self.kind, error=type(exc).__name__)
            raise BackendUnavailableError(
                "The session store is unavailable; retry shortly.",
                code="session_store_unavailable",
                retry_after=1,
            ) from exc

    def _key(self, claude_session_id: str) -> SessionKey:
        return main_key(self.project_key, claude_session_id)

    async def save_mark(self, claude_session_id: str) -> None:
        """Record the transcript's current length as the length to keep."""
        count = await self.transcripts.count(self._key(claude_session_id))
        entry: SessionStoreEntry = {"type": "wrapper_mark", "uuid": str(count)}
        await self.transcripts.append(marks_key(self.project_key, claude_session_id), [entry])

    async def _kept_length(self, claude_session_id: str) -> int:
        """Cut the transcript back to its last mark (a turn whose holder died); its length."""
        key = self._key(claude_session_id)
        count = await self.transcripts.count(key)
        marks = await self.transcripts.load(marks_key(self.project_key, claude_session_id))
        if not marks:  # recorded before marks existed: all of it counts
            return count
        kept = int(marks[-1].get("uuid") or count)
        if count > kept:
            await self.transcripts.truncate(key, kept)
            log.warning("sessions.uncommitted_turn_dropped", entries=count - kept)
        return min(count, kept)

    async def _take_over_dead_lease(self, session_id: str) -> bool:
        """Release the lease on ``session_id`` if its holder process is dead."""
        holder = await self.index.lease_holder(session_id, now=self.clock())
        if holder is None or not holder_is_dead(holder):
            return False
        await self.index.release(session_id, token=holder, discard=False, now=self.clock())
        log.warning("sessions.dead_lease_taken_over", session_id=session_id)
        return True

    @asynccontextmanager
    async def lease(
        self, session_id: str, *, model: str | None = None, hold_s: float | None = None
    ) -> AsyncIterator[SessionLease]:
        """Hold ``session_id`` for one turn; see the module docstring.

        Raises:
            InvalidRequestError: the session id is not usable.
            ConflictError: another turn holds the session (409).
            BackendUnavailableError: the store is unreachable.
        """
        validate_session_id(session_id)
        token = new_token()

        async def acquire() -> Acquired | None:
            return await self.guard(
                self.index.acquire(
                    session_id,
                    token=token,
                    claude_session_id=str(uuid.uuid4()),
                    model=model,
                    now=self.clock(),
                    ttl_s=self.ttl_s,
                    hold_s=hold_s or self.hold_s,
                )
            )

        acquired = await acquire()
        if acquired is None and await self.guard(self._take_over_dead_lease(session_id)):
            acquired = await acquire()
        if acquired is None:
            raise ConflictError(
                f"Session {session_id!r} is busy with another request; "
                "send the next turn when the current one has finished.",
                param="session_id",
                code="session_busy",
            )
        lease = SessionLease(self, acquired.record, token=token, created=acquired.created)
        try:
            if acquired.replaced:
                await self.guard(self.transcripts.delete(self._key(acquired.replaced)))
            if not lease.is_new:
                lease.mark = await self.guard(self._kept_length(lease.claude_session_id))
            yield lease
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_CLEANUP_DEADLINE_S):
                await lease._finish()

    async def get(self, session_id: str) -> SessionRecord:
        """The live record of ``session_id``.

        Raises:
            InvalidRequestError: the session id is not usable.
            NotFoundError: no such session (or it expired).
        """
        validate_session_id(session_id)
        record = await self.guard(self.index.get(session_id, now=self.clock()))
        if record is None:
            raise _not_found(session_id)
        return record

    async def list_sessions(self) -> list[SessionRecord]:
        """Every live session, oldest first."""
        return await self.guard(self.index.records(now=self.clock()))

    async def delete(self, session_id: str) -> SessionRecord:
        """Forget ``session_id`` and delete its transcript.

        Raises:
            InvalidRequestError: the session id is not usable.
            NotFoundError: no such session (or it expired).
            ConflictError: a turn is running on it.
        """
        validate_session_id(session_id)
        now = self.clock()
        try:
            record = await self.guard(self.index.delete(session_id, now=now))
        except SessionBusyError:
            raise ConflictError(
                f"Session {session_id!r} is busy with a request; delete it when that ends.",
                code="session_busy",
            ) from None
        if record is None:
            raise _not_found(session_id)
        await self.guard(self.transcripts.delete(self._key(record.claude_session_id)))
        if record.expires_at <= now:
            raise _not_found(session_id)
        log.info("sessions.deleted", session_id=session_id)
        return record

    async def stats(self) -> SessionStats:
        """Counts over every session in the store."""
        return await self.guard(self.index.stats(now=self.clock()))

    async def sweep(self) -> int:
        """Delete expired sessions and their transcripts; returns how many."""
        now = self.clock()
        doomed = await self.guard(self.index.purge(now=now))
        for claude_session_id in doomed:
            await self.guard(self.transcripts.delete(self._key(claude_session_id)))
        if doomed:
            log.info("sessions.swept", count=len(doomed))
        return len(doomed)

    async def run_sweeper(self, interval_s: float) -> NoReturn:
        """Sweep every ``interval_s`` seconds until cancelled; failures are logged."""
        while True:
            await anyio.sleep(interval_s)
            try:
                await self.sweep()
            except BackendUnavailableError:
                log.warning("sessions.sweep_failed", store=self.kind)
            except Exception:  # a background loop must outlive a bad sweep
                log.exception("sessions.sweep_crashed", store=self.kind)


def _not_found(session_id: str) -> NotFoundError:
    return NotFoundError(f"Session {session_id!r} not found.", code="session_not_found")
