"""A pool of connected CLI processes, grouped by profile, with conversation affinity.

Each pooled process is in one state:

* ``clean``   — idle with an empty conversation, ready for any turn of its profile;
* ``held``    — idle, holding the conversation it just answered (keyed by its
  digest) so that a stateless follow-up can send just the new message;
* ``parked``  — idle in the middle of a turn, its client tool calls waiting at the
  tool gate for the client's results;
* ``busy``    — serving a turn; ``starting`` / ``resetting`` — in transition.

Turns never wait for housekeeping: releasing a process after a turn returns at
once, and clearing (``/clear``), replacing discarded processes and
recycling processes all happen in the pool's background task group. A global
cap bounds live processes; making room evicts idle processes (clean ones of
other profiles first, then the least recently used held or parked ones),
never busy ones. A process never serves two conversations without a reset in
between.

New conversations go to the most recently used clean process, and while held
conversations are rarely claimed (``hold_policy.py``) a spare is made by clearing
a held process rather than starting another: a process that works often stays
warm, one that idles between turns wakes up costlier.
"""

from __future__ import annotations

import enum
import time
from pathlib import Path

import anyio
import anyio.abc

from wrapper.backend.cli_process import CliProcess
from wrapper.backend.hold_policy import HoldPolicy
from wrapper.backend.options import CliRuntime, build_options
from wrapper.backend.profile import Profile
from wrapper.backend.session_link import SessionLink
from wrapper.backend.spawn import SessionStart, remove_file, spawn
from wrapper.backend.tool_gate import ToolGate
from wrapper.backend.turns import Deadline
from wrapper.config import PoolSettings
from wrapper.errors import BackendUnavailableError
from wrapper.events import Turn
from wrapper.logging import get_logger

log = get_logger(__name__)


class State(enum.Enum):
    STARTING = "starting"
    CLEAN = "clean"
    HELD = "held"
    PARKED = "parked"
    BUSY = "busy"
    RESETTING = "resetting"


class Release(enum.Enum):
    """What to do with a process once its turn is over."""

    HOLD = "hold"
    PARK = "park"
    CLEAR = "clear"
    DISCARD = "discard"


class PooledProcess:
    """A CLI process and its place in the pool."""

    __slots__ = (
        "digest",
        "gate",
        "link",
        "pending",
        "process",
        "profile",
        "since",
        "state",
        "transcript",
    )

    def __init__(self, process: CliProcess, gate: ToolGate, profile: Profile) -> None:
        self.process = process
        self.gate = gate
        self.profile = profile
        self.state = State.STARTING
        self.digest: str | None = None
        self.pending: frozenset[str] = frozenset()
        self.since = time.monotonic()
        self.transcript: Path | None = None
        # Set for a process pinned to a client session: it mirrors to the session
        # store and never serves another conversation (it is replaced, not cleared).
        self.link: SessionLink | None = None

    def enter(self, state: State) -> None:
        self.state = state
        self.since = time.monotonic()


class ProcessPool:
    """Warm CLI processes; see the module docstring."""

    def __init__(
        self,
        runtime: CliRuntime,
        settings: PoolSettings,
        default_profile: Profile,
        default_model: str,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.default_profile = default_profile
        self.default_model = default_model
        self._members: list[PooledProcess] = []
        self._starting = 0
        self._changed = anyio.Event()
        self._recent: dict[str, tuple[Profile, str, float]] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._closed = False
        self.spawned = 0
        self.affinity_hits = 0
        self.parked_hits = 0
        self.holding = HoldPolicy()

    # ------------------------------------------------------------------ lifecycle

    @property
    def enabled(self) -> bool:
        """A pool is on (see :class:`~wrapper.backend.pool_view.PoolView`)."""
        return True

    @property
    def closed(self) -> bool:
        return self._closed

    def attach(self, background: anyio.abc.TaskGroup) -> None:
        """Run the pool's housekeeping in ``background`` (the app's lifespan group)."""
        self._group = background
        background.start_soon(self._maintain)

    async def close(self) -> None:
        """Stop every process (at shutdown); no process is started after this."""
        self._closed = True
        self._group = None
        with anyio.CancelScope(shield=True):
            members, self._members = self._members, []
            async with anyio.create_task_group() as stopper:
                for member in members:
                    stopper.start_soon(self._stop, member)

    def _spawn_soon(self, func: object, *args: object) -> None:
        if self._group is not None:
            self._group.start_soon(func, *args)  # type: ignore[arg-type]

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    # ------------------------------------------------------------------ stats

    def stats(self) -> dict[str, int]:
        counts = {state.value: 0 for state in State}
        for member in self._members:
            counts[member.state.value] += 1
        counts["starting"] += self._starting
        counts["total"] = len(self._members) + self._starting
        counts["spawned"] = self.spawned
        counts["affinity_hits"] = self.affinity_hits
        counts["parked_hits"] = self.parked_hits
        counts["hold_claim_rate_pct"] = round(self.holding.rate * 100)
        return counts

    def pids(self) -> list[int]:
        return [m.process.pid for m in self._members if m.process.pid is not None]

    # ------------------------------------------------------------------ taking

    def take_affine(self, digest: str) -> PooledProcess | None:
        """The idle process holding (or parked in) conversation ``digest``, now busy."""
        for member in self._members:
            if member.digest == digest and member.state in (State.HELD, State.PARKED):
                if member.state is State.HELD and member.link is None:
                    self.holding.claimed()
                member.enter(State.BUSY)
                return member
        self.holding.missed(digest)
        return None

    async def take_clean(self, turn: Turn, profile: Profile, deadline: Deadline) -> PooledProcess:
        """A process of ``profile`` with an empty conversation, now busy.

        Prefers the most recently used clean one; else clears the least recently
        used held one of the profile; else starts one (making room if needed).
        """
        self._note_use(profile, turn.model)
        while True:
            member = self._pick(profile, State.CLEAN, newest=True)
            if member is not None:
                log.debug("pool.take_clean", pid=member.process.pid)
                member.enter(State.BUSY)
                self._spawn_soon(self._top_up, profile)
                return member
            member = self._pick(profile, State.HELD, pinned=False)
            if member is not None:
                self._drop_held(member)
                member.enter(State.BUSY)
                if await self._cleared(member):
                    member.digest = None
                    return member
                await self._discard(member)
                continue
            if await self._reserve(deadline):
                member = await self._start(profile, turn.model, deadline)
                member.enter(State.BUSY)
                return member

    async def spawn_for(
        self,
        turn: Turn,
        profile: Profile,
        deadline: Deadline,
        session: SessionStart | None = None,
    ) -> PooledProcess:
        """A new process started on ``turn``'s whole conversation (transcript resume),
        or on a client session's turn (pinned to that session).

        The turn is already running when this returns.
        """
        if session is None:
            self._note_use(profile, turn.model)
        while not await self._reserve(deadline):
            pass
        try:
            process, gate, transcript = await spawn(
                self.runtime,
                turn,
                profile,
                deadline,
                label="pool-session" if session else "pool-resume",
                session=session,
            )
        finally:
            self._starting -= 1
        self.spawned += 1
        member = PooledProcess(process, gate, profile)
        member.transcript = transcript
        member.link = session.link if session is not None else None
        member.enter(State.BUSY)
        self._members.append(member)
        self._notify()
        return member

    def _pick(
        self,
        profile: Profile,
        state: State,
        *,
        pinned: bool | None = None,
        newest: bool = False,
    ) -> PooledProcess | None:
        """The process of ``profile`` in ``state`` that entered it first (or last)."""
        matching = [
            m
            for m in self._members
            if m.state is state
            and m.profile == profile
            and (pinned is None or (m.link is not None) == pinned)
        ]
        if not matching:
            return None
        choose = max if newest else min
        return choose(matching, key=lambda m: m.since)

    def _drop_held(self, member: PooledProcess) -> None:
        """Note that ``member``'s held conversation is given up unclaimed."""
        if member.state is State.HELD and member.link is None and member.digest is not None:
            self.holding.dropped(member.digest)
        member.digest = None

    def _note_use(self, profile: Profile, model: str) -> None:
        self._recent[profile.key] = (profile, model, time.monotonic())

    # ------------------------------------------------------------------ capacity

    def _live(self) -> int:
        return len(self._members) + self._starting

    def _victim(self, for_profile: Profile | None) -> PooledProcess | None:
        """The idle process to evict first (clean of other profiles, then LRU held/parked)."""
        order = {State.CLEAN: 0, State.HELD: 1, State.PARKED: 2}
        candidates = [m for m in self._members if m.state in order]
        if not candidates:
            return None

        def rank(member: PooledProcess) -> tuple[int, float]:
            same = for_profile is not None and member.profile == for_profile
            tier = order[member.state] + (3 if same and member.state is State.CLEAN else 0)
            return tier, member.since

        return min(candidates, key=rank)

    async def _reserve(self, deadline: Deadline) -> bool:
        """Reserve room for one more process (evicting an idle one if needed).

        Returns True with ``_starting`` incremented, or False after waiting for a
        change (the caller looks again).

        Raises:
            BackendUnavailableError: no room freed up before the deadline.
        """
        if self._live() < self.settings.max_processes:
            self._starting += 1
            return True
        victim = self._victim(None)
        if victim is not None:
            self._drop_held(victim)
            self._members.remove(victim)
            self._spawn_soon(self._stop, victim)
            self._starting += 1
            return True
        changed = self._changed
        with anyio.move_on_after(deadline.remaining()):
            await changed.wait()
            return False
        raise BackendUnavailableError(
            "Every Claude process is busy; retry shortly.", code="pool_exhausted", retry_after=2
        )

    async def _start(
        self, profile: Profile, model: str, deadline: Deadline | None
    ) -> PooledProcess:
        """Start a clean process (``_starting`` was reserved by the caller)."""
        if self._closed:
            self._starting -= 1
            raise BackendUnavailableError("The server is shutting down.", retry_after=5)
        gate = ToolGate(refuse=profile.refuse_tool_calls)
        options = build_options(self.runtime, profile, model=model, gate=gate)
        process = CliProcess(options, label="pool")
        try:
            if deadline is None:
                await process.start()
            else:
                with anyio.fail_after(deadline.remaining()):
                    await process.start()
        except BaseException as exc:
            gate.close()
            await process.stop()
            if isinstance(exc, TimeoutError) and deadline is not None:
                raise deadline.expired_error() from None
            raise
        finally:
            self._starting -= 1
            self._notify()
        self.spawned += 1
        member = PooledProcess(process, gate, profile)
        member.enter(State.CLEAN)
        if self.closed:  # closed while it was starting
            await self._stop(member)
            raise BackendUnavailableError("The server is shutting down.", retry_after=5)
        self._members.append(member)
        return member

    # ------------------------------------------------------------------ releasing

    def release(
        self,
        member: PooledProcess,
        how: Release,
        digest: str | None = None,
        pending: frozenset[str] = frozenset(),
    ) -> None:
        """Give a process back after its turn; never blocks the caller."""
        log.debug("pool.release", pid=member.process.pid, how=how.value)
        if member not in self._members:
            return
        worn = self._worn(member)
        if how is Release.HOLD and digest is not None and not worn:
            member.digest = digest
            member.enter(State.HELD)
            self._notify()
        elif how is Release.PARK and digest is not None and pending:
            member.digest = digest
            member.pending = pending
            member.enter(State.PARKED)
            self._notify()
        elif how in (Release.CLEAR, Release.HOLD) and not worn and member.link is None:
            member.digest = None
            member.enter(State.RESETTING)
            self._spawn_soon(self._reset, member)
        else:
            self._members.remove(member)
            self._spawn_soon(self._stop, member)
            self._notify()
        remove_file(member.transcript)
        member.transcript = None

    def _worn(self, member: PooledProcess) -> bool:
        process = member.process
        if not process.alive or process.exited:
            return True
        if process.turns >= self.settings.max_turns_per_process:
            return True
        rss = process.rss_bytes()
        return rss is not None and rss > self.settings.max_rss_bytes

    async def _cleared(self, member: PooledProcess) -> bool:
        """Empty ``member``'s conversation for reuse; False if it must be replaced."""
        if self.settings.reset == "replace":
            return False
        ok = await member.process.clear()
        log.debug("pool.cleared", pid=member.process.pid, ok=ok)
        return ok

    async def _reset(self, member: PooledProcess) -> None:
        ok = await self._cleared(member)
        if ok and member in self._members:
            member.enter(State.CLEAN)
            self._notify()
        else:
            await self._discard(member)

    async def _discard(self, member: PooledProcess) -> None:
        if member in self._members:
            self._members.remove(member)
        self._notify()
        await self._stop(member)

    async def _stop(self, member: PooledProcess) -> None:
        await member.process.stop()
        member.gate.close()
        remove_file(member.transcript)
        self._notify()

    # ------------------------------------------------------------------ maintenance

    async def _top_up(self, profile: Profile) -> None:
        """Keep a clean spare for ``profile``: start one if there is free room and
        holding conversations pays, else clear one of the profile's held
        conversations (never evicts another profile's process, never touches busy
        or parked ones)."""
        want = self.settings.spares_per_profile
        if profile == self.default_profile:
            want = max(want, self.settings.min_warm)
        have = sum(
            1
            for m in self._members
            if m.profile == profile and m.state in (State.CLEAN, State.RESETTING)
        )
        if have >= want:
            return
        at_cap = self._live() >= self.settings.max_processes
        if at_cap or not self.holding.worth_holding:
            # Holding pays: give up the oldest conversation. It does not: clear the
            # process used last, so that the same few processes do the work.
            newest = not self.holding.worth_holding
            held = self._pick(profile, State.HELD, pinned=False, newest=newest)
            if held is not None:
                self._drop_held(held)
                held.enter(State.RESETTING)
                await self._reset(held)
                return
            if at_cap:
                return
        recent = self._recent.get(profile.key)
        model = recent[1] if recent else self.default_model
        self._starting += 1
        try:
            await self._start(profile, model, None)
        except BackendUnavailableError:
            return
        except Exception:  # noqa: BLE001 - a failed spare is logged and retried later
            log.warning("pool.spare_failed", profile=profile.key)

    async def _maintain(self) -> None:
        while not self._closed:
            try:
                await self._maintain_once()
            except Exception:
                log.exception("pool.maintenance_failed")
            await anyio.sleep(self.settings.maintenance_interval_s)

    async def _maintain_once(self) -> None:
        now = time.monotonic()
        settings = self.settings
        for member in list(self._members):
            idle = now - member.since
            if member.state is State.PARKED and idle > settings.park_timeout_s:
                await self._discard(member)
            elif member.state is State.HELD and idle > settings.affinity_ttl_s:
                if member.link is not None:
                    await self._discard(member)
                    continue
                self._drop_held(member)
                member.enter(State.RESETTING)
                self._spawn_soon(self._reset, member)
            elif member.state is State.CLEAN and (
                self._worn(member) or (idle > settings.idle_timeout_s and not self._keep(member))
            ):
                await self._discard(member)
        for key, (profile, _, used) in list(self._recent.items()):
            if now - used > settings.idle_timeout_s and profile != self.default_profile:
                del self._recent[key]
                continue
            await self._top_up(profile)
        await self._top_up(self.default_profile)

    def _keep(self, member: PooledProcess) -> bool:
        """Whether an idle clean process is one of the default profile's warm minimum."""
        if member.profile != self.default_profile:
            return False
        clean = [m for m in self._members if m.profile == member.profile and m.state is State.CLEAN]
        clean.sort(key=lambda m: m.since, reverse=True)
        return member in clean[: self.settings.min_warm]
