"""The pool's members and the state its parts share.

Each pooled process is in one state:

* ``clean``   — idle with an empty conversation, ready for any turn of its profile;
* ``held``    — idle, holding the conversation it just answered (keyed by its
  digest) so that a stateless follow-up can send just the new message;
* ``parked``  — idle in the middle of a turn, its client tool calls waiting at the
  tool gate for the client's results;
* ``busy``    — claimed for a turn; ``starting`` / ``resetting`` — in transition.

A clean process may be *unbound*: a spare started with no system prompt and no client
tools, waiting (``--await-claim``) to be bound to any profile of its ``base``
(:attr:`~wrapper.backend.profile.Profile.base`) by a control request, where that
profile would otherwise need a new process. Its ``profile`` is the base until then,
and no lookup by profile finds it.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVarTuple

import anyio
import anyio.abc

from wrapper.backend.pool.hold_policy import HoldPolicy
from wrapper.backend.pool.processes import PoolProcess
from wrapper.backend.pool.start_policy import StartPolicy
from wrapper.backend.profile import Profile
from wrapper.backend.session_link import SessionLink
from wrapper.backend.tool_gate import ToolGate
from wrapper.backend.turns import Deadline
from wrapper.errors import BackendUnavailableError

Args = TypeVarTuple("Args")


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
        "busy_cpu",
        "claimed_from",
        "digest",
        "gate",
        "link",
        "pending",
        "prefixes",
        "process",
        "profile",
        "refill",
        "rewind_to",
        "session_tail",
        "since",
        "state",
        "transcript",
        "unbound",
    )

    def __init__(self, process: PoolProcess, gate: ToolGate, profile: Profile) -> None:
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
        # The state it was claimed from: a turn given up before the CLI was told
        # anything puts it back there, conversation and all.
        self.claimed_from = State.CLEAN
        # The CPU time its CLI had used when it was claimed (the busy span's share).
        self.busy_cpu: float | None = None
        # For each user message it holds that it can be rewound to: the digest of
        # the conversation before that message, and the message's id. A request
        # whose earlier messages are one of these prefixes is served by a rewind.
        self.prefixes: list[tuple[str, str]] = []
        # Set by a claim on a prefix: the message the next turn rewinds to first.
        self.rewind_to: str | None = None
        # For a process holding a client session the server keeps (``kept_sessions``):
        # the id of the last transcript entry written for it.
        self.session_tail: str | None = None
        # A spare not bound to a profile yet (see the module docstring).
        self.unbound = False
        # Set for the turn of a new profile: the base whose unbound spares are topped
        # up once the turn is over.
        self.refill: Profile | None = None

    def prefix_target(self, digest: str) -> str | None:
        """The id of the user message that follows conversation ``digest`` here."""
        return next((target for prefix, target in self.prefixes if prefix == digest), None)

    def rewound(self, target: str) -> None:
        """The conversation was cut back to just before ``target``."""
        kept = [target_id for _, target_id in self.prefixes]
        if target in kept:
            del self.prefixes[kept.index(target) :]

    def enter(self, state: State) -> None:
        self.state = state
        self.since = time.monotonic()


class Counters:
    """What ``/v1/pool/status`` counts besides the states."""

    __slots__ = (
        "abandoned_untold",
        "affinity_hits",
        "bound_hits",
        "busy_waits",
        "discarded",
        "kept_session_hits",
        "parked_hits",
        "prefix_hits",
        "seeded_hits",
        "shared_hits",
        "spawned",
    )

    def __init__(self) -> None:
        self.spawned = 0
        # Turns served by rewinding a held process to a prefix of its conversation
        # (a few-shot prompt's examples, a regenerated last message) instead of a spawn.
        self.prefix_hits = 0
        # Turns whose earlier conversation, seen by no process, was appended to a warm
        # one (its messages as they are, no upstream call) instead of a spawn.
        self.seeded_hits = 0
        # Turns whose earlier conversation began with one a held process had (all of
        # it, or up to one of its user messages, rewound to): the rest was appended.
        self.shared_hits = 0
        # Turns of server-kept client sessions (``kept_sessions``) served by a warm
        # process: the one holding the session, or a clean one it was appended to.
        self.kept_session_hits = 0
        # Turns of a profile no clean process had, served by binding an unbound spare
        # to it (its system prompt and tools set on the running process) instead of a
        # spawn.
        self.bound_hits = 0
        # Claims that found no idle process of their profile and waited for a busy one
        # to finish, as the busy ones used the cores already or one was due sooner than
        # a start would be ready (start_policy.py).
        self.busy_waits = 0
        # Processes taken out of the pool to be stopped (abandoned or failed turns,
        # worn, evicted or expired ones), not counting the stop of all at shutdown.
        self.discarded = 0
        self.affinity_hits = 0
        self.parked_hits = 0
        # Claims given up (disconnect, deadline) before the CLI was told anything:
        # the process they had, or were getting, stayed in the pool.
        self.abandoned_untold = 0


class Members:
    """The processes, the ones being started, and the change signal the parts share."""

    def __init__(self) -> None:
        self.all: list[PooledProcess] = []
        self.starting = 0
        self.closed = False
        self.counters = Counters()
        self.holding = HoldPolicy()
        self.starts = StartPolicy()
        self.group: anyio.abc.TaskGroup | None = None
        self._changed = anyio.Event()

    def live(self) -> int:
        return len(self.all) + self.starting

    def notify(self) -> None:
        """Wake every task waiting for the pool to change."""
        self._changed.set()
        self._changed = anyio.Event()

    async def changed(self, deadline: Deadline) -> None:
        """Wait for the next change.

        Raises:
            BackendUnavailableError: nothing changed before the deadline (503).
        """
        changed = self._changed
        with anyio.move_on_after(deadline.remaining()):
            await changed.wait()
            return
        raise BackendUnavailableError(
            "Every Claude process is busy; retry shortly.", code="pool_exhausted", retry_after=2
        )

    def spawn_soon(
        self, func: Callable[[*Args], Coroutine[Any, Any, object]], *args: *Args
    ) -> bool:
        """Run ``func`` in the background group; False when there is none (closed)."""
        if self.group is None:
            return False
        self.group.start_soon(func, *args)
        return True

    def pick(
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
            for m in self.all
            if m.state is state
            and m.profile == profile
            and not m.unbound
            and (pinned is None or (m.link is not None) == pinned)
        ]
        if not matching:
            return None
        choose = max if newest else min
        return choose(matching, key=lambda m: m.since)

    def unbound_spares(self, base: Profile) -> list[PooledProcess]:
        """The unbound spares of ``base`` (all clean: a claim clears ``unbound``)."""
        return [m for m in self.all if m.unbound and m.profile == base]

    def claim(self, member: PooledProcess) -> PooledProcess:
        """Make an idle ``member`` busy, remembering where it came from."""
        member.claimed_from = member.state
        member.busy_cpu = member.process.cpu_seconds()
        member.enter(State.BUSY)
        return member

    def drop_held(self, member: PooledProcess) -> None:
        """Note that ``member``'s held conversation is given up unclaimed."""
        if member.state is State.HELD and member.link is None and member.digest is not None:
            # The empty prefix (every conversation has it) says nothing about follow-ups.
            prefixes = [prefix for prefix, _ in member.prefixes[1:]]
            self.holding.dropped(member.digest, prefixes)
        member.digest = None

    def check_open(self) -> None:
        """Raises: BackendUnavailableError: the pool is closed (the server is shutting down)."""
        if self.closed:
            raise self.shutting_down()

    def shutting_down(self) -> BackendUnavailableError:
        return BackendUnavailableError("The server is shutting down.", retry_after=5)
