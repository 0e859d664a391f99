"""Whether holding finished conversations in idle processes is paying off.

A held process keeps the conversation it answered so that a stateless follow-up
sends only its new message (saving a process start and a transcript resume,
~0.3 CPU-seconds). Holding has a price when nobody comes back: every new
conversation then needs another process, so turns rotate through the whole pool,
each process goes idle between its turns and wakes up colder (measured: ~0.09
CPU-seconds per turn over eight rotating processes against ~0.05 over two).

The policy watches what happens to held conversations. A conversation claimed by
its follow-up counts as a success; one cleared unclaimed counts as a failure,
unless its follow-up turns up later (it is remembered for a while), which then
counts as a success after all. So the estimate is not biased by the policy's
own choice to hold fewer. While the claim rate is low the pool makes a spare by
clearing a held process instead of starting a new one, so one client sending
one-shot requests is served by the same couple of warm processes.

The rate starts at zero: after a restart nothing shows that follow-ups come, and
an optimistic start let one-shot traffic grow the pool to its cap within a few
requests. The first follow-up that finds its conversation dropped lifts the rate
to the threshold at once (see :meth:`HoldPolicy.missed`), so a client that does
come back costs one transcript resume, not a run of them.

Only once the fates of ``SEEN_ENOUGH`` held conversations show a low rate does the
pool drop a hold as soon as the turn ends (``Maintenance.held``): a fresh server
keeps each conversation until a new one needs its process, so a client that
sends its follow-up after a restart still finds it held.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

# A claim saves ~0.3 CPU-s; an unclaimed hold costs ~0.03 CPU-s per turn: holding
# pays off above a claim rate of about one in ten.
WORTH_HOLDING_RATE = 0.1
_WEIGHT = 0.1
_REMEMBERED = 256
SEEN_ENOUGH = 10
"""Held conversations whose fate must be known before a low rate is taken as
traffic's own (rather than the zero it starts at)."""


class HoldPolicy:
    """An exponentially weighted claim rate of held conversations."""

    __slots__ = ("_dropped", "observed", "rate")

    def __init__(self) -> None:
        self.rate = 0.0
        self.observed = 0
        self._dropped: OrderedDict[str, None] = OrderedDict()

    @property
    def worth_holding(self) -> bool:
        return self.rate >= WORTH_HOLDING_RATE

    @property
    def rarely_claimed(self) -> bool:
        """Whether held conversations are seen to go unclaimed: the rate is low over
        at least ``SEEN_ENOUGH`` of them (so not only for want of any)."""
        return not self.worth_holding and self.observed >= SEEN_ENOUGH

    def claimed(self) -> None:
        """A held conversation was continued on its process."""
        self._observe(1.0)

    def dropped(self, digest: str, prefixes: Iterable[str] = ()) -> None:
        """A held conversation was cleared before anyone came back for it (nor for
        one of its ``prefixes``, which a rewind could have served)."""
        self._observe(0.0)
        for key in (*prefixes, digest):
            self._dropped[key] = None
            self._dropped.move_to_end(key)
        while len(self._dropped) > _REMEMBERED:
            self._dropped.popitem(last=False)

    def missed(self, digest: str) -> None:
        """A follow-up found no process holding its conversation (or a prefix of it)."""
        if digest in self._dropped:
            del self._dropped[digest]
            # It did come back: the drop was a mistake, and this a success.
            self._observe(1.0)

    def _observe(self, outcome: float) -> None:
        self.observed += 1
        self.rate += _WEIGHT * (outcome - self.rate)
