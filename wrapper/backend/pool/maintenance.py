"""The pool's housekeeping: spares, expiry and recycling, once a maintenance interval.

* Each profile in recent use keeps a clean spare (the default profile at least
  ``POOL_MIN_WARM``). A held process is rewound empty in ~2 ms when a new
  conversation needs it, so at the cap, or while held conversations are rarely
  claimed (``hold_policy.py``), a held process counts as a spare rather than
  being cleared (its conversation may still serve a prefix) and no process is
  started for one — nor while a turn of the profile runs, whose process becomes
  the spare when it is released: a process that works often stays warm, one
  that idles between turns wakes up costlier. Two top-ups at once start one spare.
  Once held conversations are seen to go unclaimed (not merely for want of any
  after a start), one that holds a single exchange (no prefix to serve) is
  rewound as soon as it is released when its profile has no clean process left:
  back-to-back one-shot requests then find it clean.
* Once a turn of a profile no process had (a system prompt or a set of client tools
  not seen before) needed a new process, the base it shares with the profiles like it
  keeps ``POOL_UNBOUND_SPARES`` unbound spares for a while (at the cap, in place of
  an idle process that holds at most one exchange or has idled a minute, or any held
  one while held conversations go unclaimed), started
  as that turn ends: the next new profile of that base binds one (~50 ms) instead
  of waiting for a start (~350 ms), and waits for one being started rather than
  start another.
* An awake CLI keeps working after a turn (garbage collection, timers of its own):
  ~100-350 ms of CPU over the next 40 s. A process idle for
  ``POOL_FREEZE_IDLE_SECONDS`` (clean, holding a conversation, or an unbound spare)
  is frozen (SIGSTOP) until it is next told something, which continues it first;
  the work it would have done is not done later either. Never the clean process of
  a profile that its next new conversation takes (the newest), never a busy, parked
  or resetting one.
* Held conversations expire after ``POOL_AFFINITY_TTL_SECONDS`` (their process
  is cleared; a session's is replaced), parked turns after
  ``POOL_TOOL_PARK_SECONDS``, idle clean processes after
  ``POOL_IDLE_TIMEOUT_SECONDS`` (but the warm minimum), and worn clean processes
  are replaced.
"""

from __future__ import annotations

import time

import anyio

from wrapper.backend.pool.capacity import Capacity
from wrapper.backend.pool.members import Members, PooledProcess, State
from wrapper.backend.pool.release import Releasing
from wrapper.backend.profile import Profile
from wrapper.config import PoolSettings
from wrapper.errors import BackendUnavailableError
from wrapper.logging import get_logger

log = get_logger(__name__)

_CLEAN = (State.CLEAN, State.RESETTING)
_FREEZABLE = (State.CLEAN, State.HELD)


class Maintenance:
    """Spares, expiry and recycling."""

    def __init__(
        self,
        members: Members,
        capacity: Capacity,
        releasing: Releasing,
        settings: PoolSettings,
        *,
        default_profile: Profile,
        default_model: str,
    ) -> None:
        self.members = members
        self.capacity = capacity
        self.releasing = releasing
        self.settings = settings
        self.default_profile = default_profile
        self.default_model = default_model
        self._recent: dict[str, tuple[Profile, str, float]] = {}
        # Spares being started, per profile key (so that two top-ups start one).
        self._starting: dict[str, int] = {}
        # The bases that keep unbound spares: base, model, when a new profile of it came.
        self._bases: dict[str, tuple[Profile, str, float]] = {}
        self._starting_unbound: dict[str, int] = {}

    def note_use(self, profile: Profile, model: str) -> None:
        """A turn of ``profile`` came in: keep a spare for it for a while."""
        if profile.disposable:
            return  # a one-turn workspace: no other turn can use a spare of it
        self._recent[profile.key] = (profile, model, time.monotonic())

    async def top_up(self, profile: Profile) -> None:
        """Keep a spare for ``profile``: start one if there is free room and holding
        conversations pays; at the cap, or while holding does not pay, a held
        process of the profile is its spare (never evicts another profile's
        process, never touches busy or parked ones)."""
        if profile.disposable:
            return
        members = self.members
        want = self.settings.spares_per_profile
        if profile == self.default_profile:
            want = max(want, self.settings.min_warm)
        at_cap = not self.capacity.has_room()
        thrifty = at_cap or not members.holding.worth_holding
        spares = (State.CLEAN, State.RESETTING, State.HELD) if thrifty else _CLEAN
        have = self._starting.get(profile.key, 0) + sum(
            1
            for m in members.all
            if m.profile == profile and m.state in spares and m.link is None and not m.unbound
        )
        if have >= want or members.closed:
            return
        if at_cap or (thrifty and self._busy(profile)):
            # A turn of the profile is running: its process becomes the spare
            # once it is released.
            return
        recent = self._recent.get(profile.key)
        model = recent[1] if recent else self.default_model
        members.starting += 1
        await self._start_spare(self._starting, profile, model, unbound=False)

    async def _start_spare(
        self, starting: dict[str, int], profile: Profile, model: str, *, unbound: bool
    ) -> None:
        """Start a spare into a reservation, counted in ``starting`` by profile key
        meanwhile (so that two top-ups start one); a failure is logged, and the next
        housekeeping pass tries again."""
        starting[profile.key] = starting.get(profile.key, 0) + 1
        try:
            await self.capacity.start(
                profile, model, None, unbound=unbound, why="unbound" if unbound else "spare"
            )
        except BackendUnavailableError:
            return
        except Exception:  # noqa: BLE001 - a failed spare is logged and retried later
            log.warning("pool.spare_failed", profile=profile.key, unbound=unbound)
        finally:
            starting[profile.key] -= 1

    def missed(self, profile: Profile, model: str) -> Profile | None:
        """A turn of ``profile`` is starting a process: when no process of the profile
        existed (its system prompt or tools are new), keep unbound spares for the
        next new profile of its base. Returns that base (to refill once the turn is
        over), else None."""
        base = profile.base
        if base is None or base == profile or self.settings.unbound_spares == 0:
            return None
        if any(m.profile == profile for m in self.members.all):
            return None  # a known profile out of clean processes: its own spares serve it
        self.keep_unbound(base, model)
        return base

    def keep_unbound(self, base: Profile, model: str) -> None:
        """A profile of ``base`` was new (just now): keep its unbound spares a while longer."""
        self._bases[base.key] = (base, model, time.monotonic())

    def spares_starting(self, profile: Profile) -> int:
        """How many clean spares of ``profile`` are being started."""
        return self._starting.get(profile.key, 0)

    def unbound_starting(self, base: Profile | None) -> bool:
        """Whether an unbound spare of ``base`` is being started."""
        return base is not None and self._starting_unbound.get(base.key, 0) > 0

    def refill(self, base: Profile, member: PooledProcess) -> None:
        """The turn of a new profile of ``base`` on ``member`` is over: start the spares
        it lacks now, never in place of ``member`` (its conversation's follow-up, or
        the next conversation of its profile, will want it). Not while the turn ran:
        a start takes most of a core for ~350 ms, which that turn would have shared."""
        self.members.spawn_soon(self.top_up_unbound, base, member)

    async def top_up_unbound(
        self, base: Profile, keep: PooledProcess | None = None, *, evict: bool = True
    ) -> None:
        """Keep ``POOL_UNBOUND_SPARES`` unbound spares of ``base``. At the cap one is
        started in place of an idle process (as a new profile's own start would evict
        one, but off the path of its turn): a clean one, one holding a single exchange,
        or a longer conversation idle for a minute, or any held one while held
        conversations go unclaimed (``Capacity.victim``), never ``keep``; without
        ``evict``, only into free room."""
        members = self.members
        recent = self._bases.get(base.key)
        if recent is None or members.closed:
            return
        have = self._starting_unbound.get(base.key, 0) + len(members.unbound_spares(base))
        if have >= self.settings.unbound_spares or (not evict and not self.capacity.has_room()):
            return
        if not self.capacity.reserve(spare=True, keep=keep):
            return
        await self._start_spare(self._starting_unbound, base, recent[1], unbound=True)

    def held(self, member: PooledProcess) -> None:
        """``member`` now holds its conversation: while holding does not pay, it may be
        the spare its profile lacks. While held conversations are seen to go
        unclaimed, one holding a single exchange (which serves no prefix) with no
        clean process of its profile left is rewound at once: the next new
        conversation would otherwise wait for that rewind on its path."""
        members = self.members
        if members.holding.worth_holding:
            return
        profile = member.profile
        clean_left = any(members.pick(profile, state, pinned=False) for state in _CLEAN)
        if members.holding.rarely_claimed and len(member.prefixes) <= 1 and not clean_left:
            members.drop_held(member)
            self.releasing.reset_soon(member)
            return
        members.spawn_soon(self.top_up, profile)

    def _busy(self, profile: Profile) -> bool:
        return any(
            m.profile == profile and m.state is State.BUSY and m.link is None
            for m in self.members.all
        )

    async def run(self) -> None:
        """Housekeeping until the pool closes (in the pool's background group)."""
        while not self.members.closed:
            try:
                await self.once()
            except Exception:
                log.exception("pool.maintenance_failed")
            await anyio.sleep(self.settings.maintenance_interval_s)

    async def once(self) -> None:
        now = time.monotonic()
        settings = self.settings
        for member in list(self.members.all):
            idle = now - member.since
            if member.state is State.PARKED and idle > settings.park_timeout_s:
                await self.capacity.discard(member)
            elif member.state is State.HELD and idle > settings.affinity_ttl_s:
                if member.link is not None:
                    await self.capacity.discard(member)
                    continue
                self.members.drop_held(member)
                self.releasing.reset_soon(member)
            elif member.state is State.CLEAN and (
                self.releasing.worn(member)
                or (idle > settings.idle_timeout_s and not self._keep(member))
            ):
                await self.capacity.discard(member)
        self._freeze_idle(now)
        for key, (profile, _, used) in list(self._recent.items()):
            if now - used > settings.idle_timeout_s and profile != self.default_profile:
                del self._recent[key]
                continue
            await self.top_up(profile)
        await self.top_up(self.default_profile)
        for key, (base, _, missed) in list(self._bases.items()):
            if now - missed > settings.idle_timeout_s:
                del self._bases[key]
            elif not any(m.refill == base for m in self.members.all):
                # A backstop (a refill that failed): into free room only, since it
                # cannot tell which idle process the last new profile will want.
                await self.top_up_unbound(base, evict=False)

    def _freeze_idle(self, now: float) -> None:
        """Freeze the processes idle for ``POOL_FREEZE_IDLE_SECONDS`` but the clean
        one of each profile that its next new conversation will take."""
        after = self.settings.freeze_after_s
        if after <= 0:
            return
        members = self.members
        # As a claim picks it (``Claims``): the newest clean, unpinned, bound process.
        next_up = {
            members.pick(m.profile, State.CLEAN, pinned=False, newest=True)
            for m in members.all
            if m.state is State.CLEAN
        }
        for member in members.all:
            if member.state in _FREEZABLE and now - member.since > after and member not in next_up:
                member.process.freeze()

    def _keep(self, member: PooledProcess) -> bool:
        """Whether an idle clean process is one of the default profile's warm minimum."""
        if member.profile != self.default_profile or member.unbound:
            return False
        clean = [
            m
            for m in self.members.all
            if m.profile == member.profile and m.state is State.CLEAN and not m.unbound
        ]
        clean.sort(key=lambda m: m.since, reverse=True)
        return member in clean[: self.settings.min_warm]
