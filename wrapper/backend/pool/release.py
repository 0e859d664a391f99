"""Giving a process back after its turn, and resetting it for the next conversation.

Releasing never blocks the turn: a process holds or parks its conversation at
once; clearing (``/clear``, or a replacement with ``POOL_RESET=replace``) and
stopping happen in the pool's background group. Worn processes (past
``POOL_MAX_TURNS_PER_PROCESS`` or ``POOL_MAX_RSS_MB``, or exited) are replaced,
and a process never serves two conversations without a reset in between.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from wrapper.backend.pool.capacity import Capacity
from wrapper.backend.pool.members import Members, PooledProcess, Release, State
from wrapper.backend.profile import Profile
from wrapper.backend.spawn import remove_file
from wrapper.config import PoolSettings
from wrapper.logging import get_logger

log = get_logger(__name__)


class Releasing:
    """Where processes go after their turns."""

    def __init__(self, members: Members, capacity: Capacity, settings: PoolSettings) -> None:
        self.members = members
        self.capacity = capacity
        self.settings = settings
        # Told of every process that starts holding a conversation (housekeeping).
        self.on_held: Callable[[PooledProcess], None] | None = None
        # Told, as the turn of a new profile ends, of the base to start spares of
        # (and the process that ran it).
        self.on_refill: Callable[[Profile, PooledProcess], None] | None = None

    def release(
        self,
        member: PooledProcess,
        how: Release,
        digest: str | None = None,
        pending: frozenset[str] = frozenset(),
    ) -> None:
        """Give a process back after its turn; never blocks the caller."""
        log.debug("pool.release", pid=member.process.pid, how=how.value)
        if member not in self.members.all or member.state is not State.BUSY:
            return
        before, after = member.busy_cpu, member.process.cpu_seconds()
        cpu = after - before if before is not None and after is not None else None
        self.members.starts.turn_ended(time.monotonic() - member.since, cpu)
        if member.refill is not None and self.on_refill is not None:
            self.on_refill(member.refill, member)
        member.refill = None
        worn = self.worn(member)
        if how is Release.HOLD and digest is not None and not worn:
            member.digest = digest
            member.enter(State.HELD)
            self.members.notify()
            if self.on_held is not None and member.link is None:
                self.on_held(member)
        elif how is Release.PARK and digest is not None and pending:
            member.digest = digest
            member.pending = pending
            member.enter(State.PARKED)
            self.members.notify()
        elif how in (Release.CLEAR, Release.HOLD) and not worn and member.link is None:
            self.reset_soon(member)
        else:
            self.capacity.retire(member)
        remove_file(member.transcript)
        member.transcript = None

    def give_back(self, member: PooledProcess) -> None:
        """Put back a process whose turn was given up before the CLI was told anything:
        it is as it was when claimed (clean, or holding its conversation)."""
        if member not in self.members.all or member.state is not State.BUSY:
            return
        process = member.process
        reusable = member.claimed_from in (State.CLEAN, State.HELD)
        if not reusable or not process.alive or process.exited:
            self.capacity.retire(member)
            return
        member.enter(member.claimed_from)
        self.members.notify()

    def worn(self, member: PooledProcess) -> bool:
        process = member.process
        if not process.alive or process.exited:
            return True
        if process.turns >= self.settings.max_turns_per_process:
            return True
        rss = process.rss_bytes()
        return rss is not None and rss > self.settings.max_rss_bytes

    def reset_soon(self, member: PooledProcess) -> None:
        """Empty ``member``'s conversation in the background (it is ``resetting`` meanwhile)."""
        member.digest = None
        member.prefixes = []
        member.enter(State.RESETTING)
        if not self.members.spawn_soon(self.reset, member):
            self.capacity.retire(member)

    async def reset(self, member: PooledProcess) -> None:
        """Empty ``member``'s conversation for reuse, or replace it if that fails."""
        ok = await self.cleared(member)
        if ok and member in self.members.all and member.state is State.RESETTING:
            member.enter(State.CLEAN)
            self.members.notify()
        else:
            await self.capacity.discard(member)

    async def cleared(self, member: PooledProcess) -> bool:
        """Empty ``member``'s conversation; False if it must be replaced."""
        if self.settings.reset == "replace":
            return False
        ok = await member.process.clear()
        log.debug("pool.cleared", pid=member.process.pid, ok=ok)
        return ok
