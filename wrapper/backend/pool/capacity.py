"""Room under the pool's cap: reserving it (evicting an idle process if needed),
starting clean processes into it, and stopping processes.

A global cap (``POOL_MAX_PROCESSES``) bounds live processes, counting the ones
being started. Making room evicts idle processes — clean ones first, then the
least recently used held ones of a single exchange, then the least recently used
held (whose longer conversation may serve a prefix: a few-shot prompt's examples)
or parked ones — never busy ones; a claim that finds
none waits for a change and looks again, until its deadline (503
``pool_exhausted``).
"""

from __future__ import annotations

import time

import anyio

from wrapper.backend.pool.members import Members, PooledProcess, State
from wrapper.backend.pool.processes import ProcessFactory
from wrapper.backend.profile import Profile
from wrapper.backend.spawn import remove_file
from wrapper.backend.turns import Deadline
from wrapper.config import PoolSettings
from wrapper.logging import get_logger

log = get_logger(__name__)

# A held process whose conversation is longer than one exchange ranks one later.
_EVICTION_ORDER = {State.CLEAN: 0, State.HELD: 1, State.PARKED: 2}
SPARE_MAY_EVICT_AFTER_S = 60.0
"""How long a longer conversation (or a parked turn) must have been idle before a spare
may take its place, while held conversations may be claimed. A burst of new profiles
would otherwise evict the conversations that are still going on, for spares that the
burst uses up faster than they start."""


class Capacity:
    """The cap on live processes, and the starting and stopping of processes."""

    def __init__(self, members: Members, processes: ProcessFactory, settings: PoolSettings) -> None:
        self.members = members
        self.processes = processes
        self.settings = settings

    def has_room(self) -> bool:
        return self.members.live() < self.settings.max_processes

    def victim(
        self, *, spare: bool = False, keep: PooledProcess | None = None
    ) -> PooledProcess | None:
        """The idle process to evict first (see the module docstring), never ``keep``.
        With ``spare`` (room for a spare rather than for a turn), only a clean one, one
        holding a single exchange, or one unused for ``SPARE_MAY_EVICT_AFTER_S``; while
        held conversations are seen to go unclaimed, any held one (the claim of the
        next new profile would evict one anyway, on its path)."""
        now = time.monotonic()
        ranked = [
            (_EVICTION_ORDER[m.state] + (len(m.prefixes) > 1), m.since, n, m)
            for n, m in enumerate(self.members.all)
            if m.state in _EVICTION_ORDER and m is not keep
        ]
        if spare:
            unclaimed = self.members.holding.rarely_claimed
            ranked = [
                entry
                for entry in ranked
                if entry[0] <= _EVICTION_ORDER[State.HELD]
                or (unclaimed and entry[3].state is State.HELD)
                or now - entry[1] >= SPARE_MAY_EVICT_AFTER_S
            ]
        return min(ranked)[3] if ranked else None

    def reserve(self, *, spare: bool = False, keep: PooledProcess | None = None) -> bool:
        """Reserve room for one more process, evicting an idle one if needed (one
        :meth:`victim` picks with ``spare`` and ``keep``).

        True with the reservation counted in ``members.starting``: the caller must
        start a process into it (:meth:`start` or the factory's ``spawn``) and
        uncount it, whatever happens. False when every process is busy (the
        caller waits for a change and looks again).

        Raises:
            BackendUnavailableError: the pool is closed.
        """
        members = self.members
        members.check_open()
        if not self.has_room():
            victim = self.victim(spare=spare, keep=keep)
            if victim is None:
                return False
            members.drop_held(victim)
            self.retire(victim)
        members.starting += 1
        return True

    async def start(
        self,
        profile: Profile,
        model: str,
        deadline: Deadline | None,
        *,
        unbound: bool = False,
        why: str = "claim",
    ) -> PooledProcess:
        """Start a clean process into a reservation (uncounted here, however it ends);
        with ``unbound``, an unbound spare of base ``profile``. ``why`` names what
        asked for it in the debug log (a claim, a spare).

        Raises:
            BackendTimeoutError: the deadline passed while starting.
            BackendUnavailableError: the pool closed.
            Exception: the process did not start (the CLI's own error).
        """
        members = self.members
        try:
            members.check_open()
            make = self.processes.unbound if unbound else self.processes.clean
            process, gate, _ = make(profile, model)
            began = time.monotonic()
            try:
                if deadline is None:
                    await process.start()
                else:
                    with anyio.fail_after(deadline.remaining()):
                        await process.start()
            except BaseException as exc:
                gate.close()
                with anyio.CancelScope(shield=True):
                    await process.stop()
                if isinstance(exc, TimeoutError) and deadline is not None:
                    raise deadline.expired_error() from None
                raise
        finally:
            members.starting -= 1
            members.notify()
        members.counters.spawned += 1
        members.starts.started(time.monotonic() - began)
        log.debug("pool.started", pid=process.pid, profile=profile.key, why=why)
        member = PooledProcess(process, gate, profile)
        member.unbound = unbound
        if members.closed:  # closed while it was starting
            await self.stop(member)
            members.check_open()
        member.enter(State.CLEAN)
        members.all.append(member)
        members.notify()
        return member

    def retire(self, member: PooledProcess) -> None:
        """Take ``member`` out of the pool and stop it in the background."""
        self._take_out(member)
        self.members.spawn_soon(self.stop, member)
        self.members.notify()

    async def discard(self, member: PooledProcess) -> None:
        """Take ``member`` out of the pool and stop it."""
        self._take_out(member)
        self.members.notify()
        await self.stop(member)

    def _take_out(self, member: PooledProcess) -> None:
        if member in self.members.all:
            self.members.all.remove(member)
            self.members.counters.discarded += 1

    async def stop(self, member: PooledProcess) -> None:
        with anyio.CancelScope(shield=True):
            await member.process.stop()
        member.gate.close()
        remove_file(member.transcript)
        self.members.notify()
