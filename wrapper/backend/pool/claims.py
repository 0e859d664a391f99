"""Claiming a process for a turn, and starting the turn on it.

Every path from "a process became busy for a turn" to "it was released" is
cancellation-safe: a claim given up (a disconnect, the deadline) while it waits
for room, for a process being started or for a held one being cleared leaves
what it waited for in the pool — a clean process started for it stays as a
spare — and a turn given up before the CLI was told anything puts its process
back as it was (clean, or holding its conversation) instead of replacing it.
Once the CLI was told something the process is replaced: an abandoned turn is
never trusted to leave it clean.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio
import anyio.lowlevel

from wrapper.backend.content import blocks
from wrapper.backend.fingerprint import conversation_digest, prefix_digests
from wrapper.backend.pool.capacity import Capacity
from wrapper.backend.pool.maintenance import Maintenance
from wrapper.backend.pool.members import Members, PooledProcess, Release, State
from wrapper.backend.pool.processes import ProcessFactory
from wrapper.backend.pool.release import Releasing
from wrapper.backend.pool.start_policy import counted
from wrapper.backend.profile import Profile
from wrapper.backend.spawn import SessionStart
from wrapper.backend.turns import Deadline
from wrapper.events import Message, ToolResultPart, Turn
from wrapper.logging import get_logger

log = get_logger(__name__)

SPARE_WAIT_S = 2.0
"""How long a claim waits for an unbound spare being started (~0.35 s when all is
well) before it starts a process of its own."""


class _Handoff:
    """A clean process being started in the background for one claim."""

    __slots__ = ("error", "member", "ready", "wanted")

    def __init__(self) -> None:
        self.ready = anyio.Event()
        self.member: PooledProcess | None = None
        self.error: Exception | None = None
        self.wanted = True


class Claims:
    """Hands out processes for turns."""

    def __init__(
        self,
        members: Members,
        capacity: Capacity,
        releasing: Releasing,
        maintenance: Maintenance,
        processes: ProcessFactory,
    ) -> None:
        self.members = members
        self.capacity = capacity
        self.releasing = releasing
        self.maintenance = maintenance
        self.processes = processes

    def take_affine(self, digest: str) -> PooledProcess | None:
        """The idle process holding (or parked in) conversation ``digest``, now busy;
        else the held process used last whose conversation starts with ``digest``
        followed by a user message, which the turn rewinds to before it sends its
        own (see :meth:`begin_turn`)."""
        members = self.members
        for member in members.all:
            if member.digest == digest and member.state in (State.HELD, State.PARKED):
                if member.state is State.HELD and member.link is None:
                    members.holding.claimed()
                return members.claim(member)
        for member in sorted(members.all, key=lambda m: m.since, reverse=True):
            if member.state is not State.HELD or member.link is not None:
                continue
            target = member.prefix_target(digest)
            if target is not None:
                members.holding.claimed()
                member.rewind_to = target
                return members.claim(member)
        members.holding.missed(digest)
        return None

    def take_shared(
        self, starts: Sequence[str], messages: Sequence[Message], most_users: int
    ) -> tuple[PooledProcess, int] | None:
        """The held process whose conversation (or a prefix of it that ends before one
        of its user messages) is the longest start of ``messages[:-1]``, now busy, and
        how many of those messages it has: the turn appends the rest (rewound first
        when only a prefix is shared; see :meth:`begin_seeded`). ``starts`` are the
        ``prefix_digests`` of ``messages[:-1]`` (which carry the profile). None when no
        held process shares any, or when what is left to append has more than
        ``most_users`` user messages.

        This serves a history whose start the pool holds but whose end it does not: a
        few-shot chat's fixed examples under one client's turns, when the process that
        held those turns was taken by another client; a conversation that went on
        elsewhere (another replica) and came back.
        """
        held = [m for m in self.members.all if m.state is State.HELD and m.link is None]
        if not held:
            return None
        history = messages[:-1]
        users = [0]  # users[n]: the user messages among history[:n]
        for message in history:
            users.append(users[-1] + (message.role == "user"))
        at = {digest: n for n, digest in enumerate(starts) if n}
        best: tuple[int, float, PooledProcess, str | None] | None = None
        for member in held:
            found: list[tuple[int, str | None]] = [
                (at[prefix], target) for prefix, target in member.prefixes if prefix in at
            ]
            if member.digest in at:
                found.append((at[member.digest], None))
            for shared, target in found:
                if target is not None and not self._worth_rewinding(member, target, users[shared]):
                    continue
                if best is None or (shared, member.since) > best[:2]:
                    best = (shared, member.since, member, target)
        if best is None:
            return None
        shared, _, member, target = best
        if users[-1] - users[shared] > most_users:
            return None
        self.members.holding.claimed()
        member.rewind_to = target
        return self.members.claim(member), shared

    def _worth_rewinding(self, member: PooledProcess, target: str, saved: int) -> bool:
        """Whether to rewind ``member`` to ``target`` for a conversation that shares
        ``saved`` user messages with it rather than append it whole to a clean process
        (when there is one): the user messages the rewind drops from ``member`` are
        appended again if their follow-up comes (at the claim rate), each at about
        the cost of one saved."""
        if self.members.pick(member.profile, State.CLEAN, pinned=False) is None:
            return True
        targets = [held_id for _, held_id in member.prefixes]
        dropped = len(targets) - targets.index(target)
        return saved >= self.members.holding.rate * dropped

    async def take_clean(self, turn: Turn, profile: Profile, deadline: Deadline) -> PooledProcess:
        """A process of ``profile`` with an empty conversation, now busy.

        Prefers the most recently used clean one; else waits for one being reset
        (a rewind, milliseconds: cheaper than a start, and the process stays warm);
        else has a held one of the profile cleared — the least recently used while
        holding pays, else the one used last; else binds an unbound spare to the
        profile (~50 ms), waiting for one being started; else waits for a clean
        spare of the profile being started (at start-up, or to replace one a turn
        took) that no other claim waits for; else, while the busy processes use the
        cores already or a busy one of the profile should be free sooner than a start
        would be ready, waits for it (``start_policy.py``); else starts one (making
        room if needed).

        Raises:
            BackendUnavailableError: no process freed up before the deadline (503).
            BackendTimeoutError: the deadline passed while one was starting.
        """
        self.maintenance.note_use(profile, turn.model)
        try:
            return await self._clean(profile, turn.model, deadline)
        except anyio.get_cancelled_exc_class():
            self.members.counters.abandoned_untold += 1
            raise

    async def _clean(self, profile: Profile, model: str, deadline: Deadline) -> PooledProcess:
        members = self.members
        clearing: PooledProcess | None = None
        waited = waited_spare = False
        first_wait: float | None = None
        while True:
            members.check_open()
            member = members.pick(profile, State.CLEAN, pinned=False, newest=True)
            if member is not None:
                log.debug("pool.take_clean", pid=member.process.pid)
                if member is not clearing:  # a spare was used up: make another
                    members.spawn_soon(self.maintenance.top_up, profile)
                return members.claim(member)
            if members.pick(profile, State.RESETTING, pinned=False) is not None:
                await members.changed(deadline)
                continue
            clearing = self._to_clear(profile)
            if clearing is not None:
                members.drop_held(clearing)
                self.releasing.reset_soon(clearing)
                continue
            bound = await self._bound(profile, model)
            if bound is not None:
                return bound
            if not waited and self.maintenance.unbound_starting(profile.base):
                # It is ready sooner than a process started now would be; but a start
                # that hangs must not hold up the turn for long.
                waited = True
                with anyio.move_on_after(SPARE_WAIT_S):
                    while self.maintenance.unbound_starting(profile.base):
                        await members.changed(deadline)
                continue
            if not waited_spare and self._spare_is_sooner(profile):
                # A spare started before this claim (at start-up, or to replace one a
                # turn took) is ready sooner than one started now, and a second start
                # beside it would slow both down.
                waited_spare = True
                await self._wait_for_spare(profile, deadline)
                continue
            now = time.monotonic()
            pause = self._busy_wait(profile, 0.0 if first_wait is None else now - first_wait)
            if pause > 0:
                if first_wait is None:
                    first_wait = now
                    members.counters.busy_waits += 1
                await self._wait_for_busy(profile, pause, deadline)
                continue
            if self.capacity.reserve():
                refill = self.maintenance.missed(profile, model)
                started = await self._started(profile, model, deadline)
                started.refill = refill
                return started
            await members.changed(deadline)

    def _spare_is_sooner(self, profile: Profile) -> bool:
        """Whether a clean spare of ``profile`` is being started that no other claim
        is waiting for already."""
        waiting = self.members.starts.waiting_for_spare.get(profile.key, 0)
        return self.maintenance.spares_starting(profile) > waiting

    async def _wait_for_spare(self, profile: Profile, deadline: Deadline) -> None:
        """Wait until a clean process of ``profile`` is there or no spare of it is being
        started (at most ``SPARE_WAIT_S``: a start that hangs must not hold the turn)."""
        members = self.members
        with counted(members.starts.waiting_for_spare, profile.key):
            with anyio.move_on_after(SPARE_WAIT_S):
                while (
                    self.maintenance.spares_starting(profile)
                    and members.pick(profile, State.CLEAN, pinned=False) is None
                ):
                    await members.changed(deadline)

    def _busy_wait(self, profile: Profile, waited: float) -> float:
        """How long to wait for a busy process of ``profile`` rather than start one
        (0: start one); see ``start_policy.py``."""
        now = time.monotonic()
        busy = [m for m in self.members.all if m.state is State.BUSY]
        busy_for = [now - m.since for m in busy if m.profile == profile and m.link is None]
        starts = self.members.starts
        ahead = starts.waiting.get(profile.key, 0)
        return starts.wait_s(busy_for, ahead, waited, busy=len(busy))

    async def _wait_for_busy(self, profile: Profile, pause: float, deadline: Deadline) -> None:
        with counted(self.members.starts.waiting, profile.key), anyio.move_on_after(pause):
            await self.members.changed(deadline)

    async def _bound(self, profile: Profile, model: str) -> PooledProcess | None:
        """An unbound spare of ``profile``'s base, bound to ``profile`` and busy: the
        newest; None when there is none, or when binding failed (the spare is
        replaced, and the caller starts a process)."""
        base = profile.base
        if base is None:
            return None
        spares = self.members.unbound_spares(base)
        if not spares:
            return None
        # Only a profile no process has makes the base keep spares: a known one out of
        # clean processes (the default profile under a burst) would otherwise start a
        # spare after each turn, on cores its busy processes already use.
        new = not any(m.profile == profile for m in self.members.all)
        member = self.members.claim(max(spares, key=lambda m: m.since))
        member.unbound = False
        if new:
            member.refill = base
            self.maintenance.keep_unbound(base, model)
        try:
            bound = await member.process.bind(profile.system_prompt, profile.tools, member.gate)
        except Exception:  # noqa: BLE001 - logged by the process's boundary; start one instead
            bound = False
        except BaseException:
            self.releasing.release(member, Release.DISCARD)
            raise
        if not bound:
            self.releasing.release(member, Release.DISCARD)
            return None
        log.debug("pool.bound", pid=member.process.pid, profile=profile.key)
        member.profile = profile
        self.members.counters.bound_hits += 1
        return member

    def _to_clear(self, profile: Profile) -> PooledProcess | None:
        """The held process of ``profile`` a new conversation takes: one holding a
        single exchange before one whose longer conversation may serve a prefix
        (a few-shot prompt's examples); then the least recently used while holding
        pays, else the one used last (it is the warmest)."""
        held = [
            m
            for m in self.members.all
            if m.state is State.HELD and m.profile == profile and m.link is None
        ]
        if not held:
            return None
        newest = not self.members.holding.worth_holding
        return min(held, key=lambda m: (len(m.prefixes) > 1, -m.since if newest else m.since))

    async def _started(self, profile: Profile, model: str, deadline: Deadline) -> PooledProcess:
        """A clean process started into a reservation, now busy.

        It is started in the background: if this claim is given up meanwhile, the
        process still joins the pool, as a spare.
        """
        handoff = _Handoff()
        if not self.members.spawn_soon(self._start_for, handoff, profile, model, deadline):
            self.members.starting -= 1
            raise self.members.shutting_down()
        try:
            await handoff.ready.wait()
        except BaseException:
            handoff.wanted = False
            if handoff.member is not None:
                self.releasing.give_back(handoff.member)
            raise
        if handoff.member is None:
            raise handoff.error or self.members.shutting_down()
        return handoff.member

    async def _start_for(
        self, handoff: _Handoff, profile: Profile, model: str, deadline: Deadline
    ) -> None:
        try:
            member = await self.capacity.start(profile, model, deadline)
            if handoff.wanted:
                handoff.member = self.members.claim(member)
        except Exception as exc:  # noqa: BLE001 - raised by the claim that waits for it
            handoff.error = exc
            if not handoff.wanted:
                log.warning("pool.spare_failed", profile=profile.key, error=type(exc).__name__)
        finally:
            handoff.ready.set()

    async def spawn_for(
        self,
        turn: Turn,
        profile: Profile,
        deadline: Deadline,
        session: SessionStart | None = None,
    ) -> PooledProcess:
        """A new process started on ``turn``'s whole conversation (transcript resume),
        or on a client session's turn (pinned to that session), now busy.

        The turn is already running when this returns.
        """
        members = self.members
        why = "resume" if session is None else "session"
        if session is None:
            self.maintenance.note_use(profile, turn.model)
        try:
            while not self.capacity.reserve():
                await members.changed(deadline)
        except anyio.get_cancelled_exc_class():
            members.counters.abandoned_untold += 1
            raise
        try:
            process, gate, transcript = await self.processes.spawn(turn, profile, deadline, session)
        finally:
            members.starting -= 1
            members.notify()
        members.counters.spawned += 1
        log.debug("pool.started", pid=process.pid, profile=profile.key, why=why)
        member = PooledProcess(process, gate, profile)
        member.transcript = transcript
        member.link = session.link if session is not None else None
        if session is None:
            member.prefixes = _prefixes(profile.key, turn.messages, process.user_ids)
        if members.closed:  # closed while it was starting
            await self.capacity.stop(member)
            raise members.shutting_down()
        member.claimed_from = State.BUSY
        member.enter(State.BUSY)
        members.all.append(member)
        members.notify()
        return member

    async def begin_turn(self, member: PooledProcess, turn: Turn) -> bool:
        """Send ``turn``'s last message to ``member`` (claimed clean, holding the
        conversation before it, or holding one it is first rewound to); the turn is
        running when this returns True. False: the CLI refused the rewind, and
        ``member`` was released to be cleared (the turn needs another process).

        However this fails or is cancelled, ``member`` is released: put back as it
        was when the CLI was told nothing yet, else replaced.
        """
        process = member.process
        target, member.rewind_to = member.rewind_to, None
        told = False
        try:
            await anyio.lowlevel.checkpoint_if_cancelled()
            content = blocks(turn.messages[-1].content)
            if target is not None:
                told = True
                if not await self._rewound(member, target):
                    return False
                self.members.counters.prefix_hits += 1
            if process.model != turn.model:
                told = True
                await process.set_model(turn.model)
            told = True
            sent = await process.send_user_message(content)
            before = conversation_digest(member.profile.key, turn.messages[:-1])
            member.prefixes.append((before, sent))
        except BaseException as exc:
            self._failed(member, exc, told=told)
            raise
        if member.claimed_from is State.HELD and target is None:
            self.members.counters.affinity_hits += 1
        return True

    async def begin_seeded(
        self, member: PooledProcess, turn: Turn, deadline: Deadline, start: int = 0
    ) -> bool:
        """Append ``turn``'s earlier messages from ``start`` on, which no process holds,
        to ``member``, then send its last one: the conversation is taken on by a warm
        process instead of a spawn. ``member`` was claimed clean (``start`` 0), or
        holding the first ``start`` messages (:meth:`take_shared`; rewound to them
        first when it holds more). Its user messages are rewind targets afterwards, as
        a resumed transcript's are. False: the CLI refused the rewind (``member`` was
        released to be cleared) or did not take the messages (released to be
        replaced); the turn needs another process.

        However this fails or is cancelled, ``member`` is released: put back as it was
        when the CLI was told nothing yet, else replaced.

        Raises:
            BackendTimeoutError: the deadline passed while the messages were appended.
        """
        process = member.process
        target, member.rewind_to = member.rewind_to, None
        history = [(message.role, blocks(message.content)) for message in turn.messages[start:-1]]
        told = False
        try:
            await anyio.lowlevel.checkpoint_if_cancelled()
            told = True
            if target is not None and not await self._rewound(member, target):
                return False
            # The model first: the assistant messages are appended as that model's.
            await process.set_model(turn.model)
            with anyio.fail_after(deadline.remaining()):
                seeded = await process.seed(history)
            if not seeded:
                self.releasing.release(member, Release.DISCARD)
                return False
            await process.send_user_message(blocks(turn.messages[-1].content))
        except BaseException as exc:
            self._failed(member, exc, told=told)
            if isinstance(exc, TimeoutError):
                raise deadline.expired_error() from None
            raise
        member.prefixes = _prefixes(member.profile.key, turn.messages, process.user_ids)
        counters = self.members.counters
        if start:
            counters.shared_hits += 1
        else:
            counters.seeded_hits += 1
        return True

    async def _rewound(self, member: PooledProcess, target: str) -> bool:
        """Cut ``member``'s conversation back to just before ``target``; False when the
        CLI refused (``member`` was released to be cleared)."""
        if not await member.process.rewind(target):
            self.releasing.release(member, Release.CLEAR)
            return False
        member.rewound(target)
        return True

    def _failed(self, member: PooledProcess, exc: BaseException, *, told: bool) -> None:
        """Release ``member`` after starting a turn on it failed or was cancelled: put
        back as it was when the CLI was told nothing yet, else replaced."""
        if told:
            self.releasing.release(member, Release.DISCARD)
            return
        self.releasing.give_back(member)
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            self.members.counters.abandoned_untold += 1

    def resume_parked(self, member: PooledProcess, results: list[ToolResultPart]) -> None:
        """Hand the client's tool results to ``member``'s parked turn, which goes on."""
        member.pending = frozenset()
        member.gate.deliver(results)
        member.process.turns += 1
        self.members.counters.parked_hits += 1


def _prefixes(
    profile_key: str, messages: tuple[Message, ...], user_ids: Sequence[str]
) -> list[tuple[str, str]]:
    """The rewind targets of a process resumed on ``messages``: each user message
    that is not tool results, with the digest of the conversation before it."""
    users = [n for n, message in enumerate(messages) if message.role == "user"]
    if len(users) != len(user_ids):
        return []
    digests = prefix_digests(profile_key, messages)
    return [
        (digests[n], user_id)
        for n, user_id in zip(users, user_ids, strict=True)
        if not any(isinstance(part, ToolResultPart) for part in messages[n].content)
    ]
