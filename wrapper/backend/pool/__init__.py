"""A pool of connected CLI processes, grouped by profile, with conversation affinity.

A process is clean, held, parked, busy, starting or resetting (``members.py``).
Turns never wait for housekeeping: releasing a process after a turn returns at
once, and clearing (``/clear``), replacing discarded processes and recycling
processes all happen in the pool's background task group. A process never
serves two conversations without a reset in between.

The parts, one concern each:

* ``claims.py`` — taking a process for a turn (affinity, clean, resumed) and
  starting the turn on it; cancellation-safe from claim to release;
* ``capacity.py`` — the cap on live processes, eviction, starting and stopping;
* ``release.py`` — where a process goes after its turn, and resets;
* ``maintenance.py`` — spares (steered by ``hold_policy.py``), expiry, recycling;
* ``processes.py`` — what the pool needs of a CLI process, and the factory that
  makes them (the seam the unit tests drive with a fake process);
* ``process_pool.py`` — :class:`ProcessPool`, the parts assembled.
"""

from wrapper.backend.pool.members import PooledProcess, Release, State
from wrapper.backend.pool.process_pool import ProcessPool
from wrapper.backend.pool.processes import CliProcesses, Launched, PoolProcess, ProcessFactory

__all__ = [
    "CliProcesses",
    "Launched",
    "PoolProcess",
    "PooledProcess",
    "ProcessFactory",
    "ProcessPool",
    "Release",
    "State",
]
