"""CPU time and resident memory of a process tree, read from ``/proc`` (Linux only).

CPU is ``utime + stime`` of every live process in the tree plus ``cutime +
cstime`` of each: the kernel adds a child's whole CPU time (its own and that
of the descendants it reaped) to its parent's ``cutime``/``cstime`` when the
parent reaps it, so CLI processes that ran and exited between two snapshots are
still counted. A zombie (exited, not yet reaped) still reports its own times.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.e2e.harness import is_cli

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 onwards)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _parents() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree(root: int) -> list[int]:
    """``root`` and all its descendants (zombies included)."""
    return _walk(_parents(), root)


def _walk(children: dict[int, list[int]], root: int) -> list[int]:
    found = [root]
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def cli_pids(root: int) -> list[int]:
    """The ``claude`` CLI processes (live, not zombies) under ``root``."""
    found = []
    for pid in tree(root):
        fields = _stat_fields(pid)
        if not fields or fields[0] == "Z":
            continue
        if is_cli(pid):
            found.append(pid)
    return found


def cpu_seconds(roots: Iterable[int]) -> float:
    """CPU seconds used so far by the trees under ``roots``, reaped children included."""
    ticks = 0
    seen: set[int] = set()
    for root in roots:
        for pid in tree(root):
            if pid in seen:
                continue
            seen.add(pid)
            fields = _stat_fields(pid)
            if fields is None or len(fields) < 15:
                continue
            # utime, stime, cutime, cstime are fields 14-17 of stat (index 11-14 here).
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / _CLK_TCK


def cpu_split(root: int) -> tuple[float, float]:
    """CPU seconds of the tree under ``root`` split as (non-CLI processes' own time,
    CLI time): a CLI counts whole (its children included); the others' reaped
    children are counted as CLI time (on this server they are CLI processes)."""
    own = cli = 0
    for pid in tree(root):
        fields = _stat_fields(pid)
        if fields is None or len(fields) < 15:
            continue
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        if is_cli(pid):
            cli += utime + stime + cutime + cstime
        else:
            own += utime + stime
            cli += cutime + cstime
    return own / _CLK_TCK, cli / _CLK_TCK


def rss_bytes(pids: Iterable[int]) -> int:
    """The summed resident memory of ``pids`` (processes that vanished count 0)."""
    total = 0
    for pid in pids:
        try:
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        total += pages * _PAGE
    return total


class PeakRss:
    """Samples the summed RSS of some process trees in a thread; keeps the peak per name.

    A target is a function returning the roots of its trees right now (so trees
    whose members come and go are re-read at every sample) plus, optionally,
    single processes counted without their descendants. One ``/proc`` scan per
    sample serves every target.
    """

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self._targets: dict[str, tuple[Callable[[], list[int]], tuple[int, ...]]] = {}
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def watch(self, name: str, roots: Callable[[], list[int]], solo: Iterable[int] = ()) -> None:
        with self._lock:
            self._targets[name] = (roots, tuple(solo))

    def take(self) -> dict[str, int]:
        """The peaks so far; then start over."""
        self.sample()
        with self._lock:
            peaks, self.peaks = self.peaks, {}
        return peaks

    def sample(self) -> None:
        with self._lock:
            targets = dict(self._targets)
        children = _parents()
        values: dict[str, int] = {}
        for name, (roots, solo) in targets.items():
            pids = set(solo)
            for root in roots():
                pids.update(_walk(children, root))
            values[name] = rss_bytes(pids)
        with self._lock:
            for name, value in values.items():
                if value > self.peaks.get(name, 0):
                    self.peaks[name] = value

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> PeakRss:
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
