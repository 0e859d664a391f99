"""The pool as one object: its parts assembled, its lifecycle and its figures."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.abc

from wrapper.backend.pool.capacity import Capacity
from wrapper.backend.pool.claims import Claims
from wrapper.backend.pool.maintenance import Maintenance
from wrapper.backend.pool.members import Members, PooledProcess, Release, State
from wrapper.backend.pool.processes import ProcessFactory
from wrapper.backend.pool.release import Releasing
from wrapper.backend.profile import Profile
from wrapper.backend.spawn import SessionStart
from wrapper.backend.turns import Deadline
from wrapper.config import PoolSettings
from wrapper.events import Message, ToolResultPart, Turn


class ProcessPool:
    """Warm CLI processes (see the package docstring).

    ``factory`` makes them: :class:`CliProcesses` for the real ``claude`` CLI, a fake
    in the unit tests.
    """

    def __init__(
        self,
        factory: ProcessFactory,
        settings: PoolSettings,
        default_profile: Profile,
        default_model: str,
    ) -> None:
        self.settings = settings
        self.members = Members()
        self.capacity = Capacity(self.members, factory, settings)
        self.releasing = Releasing(self.members, self.capacity, settings)
        self.maintenance = Maintenance(
            self.members,
            self.capacity,
            self.releasing,
            settings,
            default_profile=default_profile,
            default_model=default_model,
        )
        self.releasing.on_held = self.maintenance.held
        self.releasing.on_refill = self.maintenance.refill
        self.claims = Claims(self.members, self.capacity, self.releasing, self.maintenance, factory)
        self._warmed = False

    @property
    def enabled(self) -> bool:
        """A pool is on (see :class:`~wrapper.backend.pool_view.PoolView`)."""
        return True

    @property
    def ready(self) -> bool:
        """Once as many processes are up as the warm minimum (at most the cap), the
        pool stays ready until it closes: a process it later loses is replaced, and
        readiness that came and went would only make a balancer drop a working
        replica."""
        if self.members.closed:
            return False
        if not self._warmed:
            warm = min(self.settings.min_warm, self.settings.max_processes)
            self._warmed = len(self.members.all) >= warm
        return self._warmed

    @property
    def closed(self) -> bool:
        return self.members.closed

    def attach(self, background: anyio.abc.TaskGroup) -> None:
        """Run the pool's housekeeping in ``background`` (the app's lifespan group)."""
        self.members.group = background
        background.start_soon(self.maintenance.run)

    async def close(self) -> None:
        """Stop every process (at shutdown); no process is started after this."""
        members = self.members
        members.closed = True
        members.group = None
        with anyio.CancelScope(shield=True):
            stopping, members.all = members.all, []
            async with anyio.create_task_group() as stopper:
                for member in stopping:
                    stopper.start_soon(self.capacity.stop, member)
        members.notify()

    def stats(self) -> dict[str, int]:
        counts = {state.value: 0 for state in State}
        for member in self.members.all:
            counts[member.state.value] += 1
        counters = self.members.counters
        counts["starting"] += self.members.starting
        counts["total"] = len(self.members.all) + self.members.starting
        counts["unbound"] = sum(1 for m in self.members.all if m.unbound)
        counts["frozen"] = sum(1 for m in self.members.all if m.process.frozen)
        counts["spawned"] = counters.spawned
        counts["affinity_hits"] = counters.affinity_hits
        counts["parked_hits"] = counters.parked_hits
        counts["prefix_hits"] = counters.prefix_hits
        counts["seeded_hits"] = counters.seeded_hits
        counts["shared_hits"] = counters.shared_hits
        counts["bound_hits"] = counters.bound_hits
        counts["kept_session_hits"] = counters.kept_session_hits
        counts["discarded"] = counters.discarded
        counts["abandoned_untold"] = counters.abandoned_untold
        counts["hold_claim_rate_pct"] = round(self.members.holding.rate * 100)
        counts["busy_waits"] = counters.busy_waits
        starts = self.members.starts
        counts["mean_turn_ms"] = round((starts.turn_s or 0.0) * 1000)
        counts["mean_turn_cpu_pct"] = round((starts.cpu_share or 0.0) * 100)
        counts["mean_start_ms"] = round(starts.start_s * 1000)
        return counts

    def pids(self) -> list[int]:
        return [m.process.pid for m in self.members.all if m.process.pid is not None]

    def take_affine(self, digest: str) -> PooledProcess | None:
        """The idle process holding (or parked in) conversation ``digest``, or holding
        one that starts with it, now busy."""
        return self.claims.take_affine(digest)

    def note_kept_session(self) -> None:
        """A turn of a server-kept client session started on a warm process."""
        self.members.counters.kept_session_hits += 1

    def give_back(self, member: PooledProcess) -> None:
        """Put back a claimed process the CLI was told nothing on, as it was."""
        self.releasing.give_back(member)

    async def take_clean(self, turn: Turn, profile: Profile, deadline: Deadline) -> PooledProcess:
        """A process of ``profile`` with an empty conversation, now busy."""
        return await self.claims.take_clean(turn, profile, deadline)

    async def spawn_for(
        self,
        turn: Turn,
        profile: Profile,
        deadline: Deadline,
        session: SessionStart | None = None,
    ) -> PooledProcess:
        """A new process already running ``turn`` (resumed, or on a client session)."""
        return await self.claims.spawn_for(turn, profile, deadline, session)

    async def begin_turn(self, member: PooledProcess, turn: Turn) -> bool:
        """Send ``turn``'s last message to a claimed process (released if that fails);
        False when the rewind its claim needed was refused (it was released)."""
        return await self.claims.begin_turn(member, turn)

    def take_shared(
        self, starts: Sequence[str], messages: Sequence[Message], most_users: int
    ) -> tuple[PooledProcess, int] | None:
        """The held process sharing the longest start of ``messages[:-1]`` (whose
        ``prefix_digests`` are ``starts``), now busy, and how many messages it shares
        (see ``Claims.take_shared``)."""
        return self.claims.take_shared(starts, messages, most_users)

    async def begin_seeded(
        self, member: PooledProcess, turn: Turn, deadline: Deadline, start: int = 0
    ) -> bool:
        """Append ``turn``'s earlier messages from ``start`` on to a claimed process
        (clean, or sharing the first ``start``), then send its last (released if that
        fails); False when the CLI refused the rewind or the messages (released)."""
        return await self.claims.begin_seeded(member, turn, deadline, start)

    def resume_parked(self, member: PooledProcess, results: list[ToolResultPart]) -> None:
        """Hand the client's tool results to a parked turn, which goes on."""
        self.claims.resume_parked(member, results)

    def release(
        self,
        member: PooledProcess,
        how: Release,
        digest: str | None = None,
        pending: frozenset[str] = frozenset(),
    ) -> None:
        """Give a process back after its turn; never blocks the caller."""
        self.releasing.release(member, how, digest, pending)
