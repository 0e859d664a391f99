"""Whether a claim that finds no idle process of its profile starts one, or waits
for a busy one to finish.

A start costs ~0.3-0.5 s and ~0.4 CPU-s. While turns are short (a fast upstream, a
busy box), a busy process of the profile is free again well before a new one would
be ready, and every start made then takes CPU from the turns that are running: a
burst of 16 one-shot requests on four warm processes measured 11 req/s while four
more were started, against ~25 req/s at 4 and at 32 concurrent requests. While
turns are long (a real upstream's seconds), a start is the faster way.

So the policy keeps exponentially weighted means of how long processes stay busy,
of the share of a core a busy process uses meanwhile, and of how long starts take.

* While the busy processes already use the cores (their number times that share is
  at least ``SATURATED`` of the cores: short turns against a fast upstream), another
  process adds no throughput, only a start's CPU and one more process to share the
  cores with: a claim waits for a busy process of its profile, however many wait.
* Otherwise a claim waits when the busy processes of its profile that are within
  twice the mean turn, shared among the claims already waiting, are expected to
  free one sooner than a start would be ready; else, and in any case once it has
  waited as long as a start takes, it starts one.

With no turn seen yet (after a restart) it starts one. Turns that wait for a
real upstream use a few percent of a core, so the pool still grows to meet them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

_WEIGHT = 0.2
SATURATED = 0.8
"""The share of the cores busy processes must use for the box to count as CPU-bound."""
FIRST_START_S = 0.5
"""The start time assumed until one was measured (a CLI start and its handshake)."""


class StartPolicy:
    """Exponentially weighted turn and start durations, and the waiting claims."""

    __slots__ = ("cores", "cpu_share", "start_s", "turn_s", "waiting", "waiting_for_spare")

    def __init__(self, cores: int | None = None) -> None:
        self.cores = cores or _cores()
        self.turn_s: float | None = None
        self.cpu_share: float | None = None
        self.start_s = FIRST_START_S
        # Claims of each profile (by key) waiting for a busy process.
        self.waiting: dict[str, int] = {}
        # Claims of each profile waiting for a clean spare being started.
        self.waiting_for_spare: dict[str, int] = {}

    def turn_ended(self, seconds: float, cpu_seconds: float | None = None) -> None:
        """A process was busy for ``seconds`` (a claim to its release), using
        ``cpu_seconds`` of CPU meanwhile (None: not known)."""
        self.turn_s = seconds if self.turn_s is None else _mean(self.turn_s, seconds)
        if cpu_seconds is not None and seconds > 0:
            share = min(max(cpu_seconds / seconds, 0.0), 1.0)
            self.cpu_share = share if self.cpu_share is None else _mean(self.cpu_share, share)

    def saturated(self, busy: int) -> bool:
        """Whether ``busy`` busy processes use the cores already."""
        share = self.cpu_share
        return share is not None and busy * share >= SATURATED * self.cores

    def started(self, seconds: float) -> None:
        """A process took ``seconds`` to start."""
        self.start_s = _mean(self.start_s, seconds)

    def wait_s(
        self, busy_for: Iterable[float], ahead: int, waited: float, *, busy: int = 0
    ) -> float:
        """How long a claim should wait for a busy process before it looks again;
        0 when it should start one now.

        ``busy_for``: how long each busy process of the profile has been busy;
        ``ahead``: the claims of the profile already waiting; ``waited``: how long
        this claim has waited so far; ``busy``: the busy processes of every profile.
        """
        turn = self.turn_s
        if turn is None:
            return 0.0
        soon = sum(1 for elapsed in busy_for if elapsed < 2 * turn)
        if soon == 0:
            return 0.0
        if self.saturated(busy):
            return turn
        expected = turn * (1 + ahead // soon)
        if expected >= self.start_s or waited + expected > self.start_s:
            return 0.0
        return expected


@contextmanager
def counted(waiting: dict[str, int], key: str) -> Iterator[None]:
    """Count a claim in ``waiting`` under ``key`` while it waits."""
    waiting[key] = waiting.get(key, 0) + 1
    try:
        yield
    finally:
        waiting[key] -= 1
        if not waiting[key]:
            del waiting[key]


def _cores() -> int:
    """The cores this process may run on (its affinity, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _mean(mean: float, value: float) -> float:
    return mean + _WEIGHT * (value - mean)
