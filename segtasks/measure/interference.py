"""How much of the cores a case ran on was taken by others while it was timed.

From two kinds of cumulative counters, read just before and just after the timed loop
(segtasks.measure.telemetry.Watch; counters that only grow need no sampling in between,
so nothing runs beside the measured work on a CPU case):
- /proc/stat, per core: busy time (user + nice + system + irq + softirq; guest time is
  already inside user, idle and iowait are idle) and steal time (the hypervisor running
  another guest on this core);
- the case's own process tree (psutil): user + system of the process and all its threads,
  of its live descendants, and of the children it has reaped.

others = busy time on the cores in use - the tree's CPU time, never below zero (the two
are counted by different clocks, ticks and scheduler nanoseconds, so small negative
differences are noise). interference = others / (wall time x cores in use): the share of
the cores the case could use that something else used. steal = the cores' steal time as
the same share. irq/softirq caused by the case itself count as others: a small
over-attribution, on the side of caution.

The arithmetic (`account`) is pure, so that it is tested on known counters.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
# /proc/stat columns: user nice system idle iowait irq softirq steal guest guest_nice
_BUSY = (0, 1, 2, 5, 6)
_STEAL = 7


@dataclass(frozen=True)
class CoreTimes:
    busy_s: float
    steal_s: float


@dataclass(frozen=True)
class Counters:
    """One reading of every counter the accounting needs."""

    wall_s: float  # time.monotonic()
    cores: dict[int, CoreTimes]  # per core id
    tree_cpu_s: float  # the case's process tree, user + system


@dataclass(frozen=True)
class Interference:
    wall_s: float
    cores_in_use: int
    others_cpu_s: float
    steal_s: float

    @property
    def interference(self) -> float:
        return self.others_cpu_s / (self.wall_s * self.cores_in_use)

    @property
    def steal(self) -> float:
        return self.steal_s / (self.wall_s * self.cores_in_use)


def parse_proc_stat(text: str, ticks_per_s: float) -> dict[int, CoreTimes]:
    """Per-core busy and steal seconds from the text of /proc/stat."""
    cores = {}
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu":
            continue
        values = [int(v) for v in rest.split()]
        values += [0] * (10 - len(values))  # old kernels have fewer columns
        cores[int(name[3:])] = CoreTimes(
            busy_s=sum(values[i] for i in _BUSY) / ticks_per_s,
            steal_s=values[_STEAL] / ticks_per_s)
    return cores


def account(before: Counters, after: Counters, cores_in_use: tuple[int, ...]) -> Interference:
    """Others' CPU time and steal on `cores_in_use` between two readings."""
    wall = after.wall_s - before.wall_s
    if wall <= 0:
        raise ValueError("the second reading must come after the first")
    present = [c for c in cores_in_use if c in before.cores and c in after.cores]
    if not present:
        raise ValueError(f"no counters for the cores in use {cores_in_use}")
    busy = sum(after.cores[c].busy_s - before.cores[c].busy_s for c in present)
    steal = sum(after.cores[c].steal_s - before.cores[c].steal_s for c in present)
    own = after.tree_cpu_s - before.tree_cpu_s
    return Interference(wall_s=wall, cores_in_use=len(present),
                        others_cpu_s=max(busy - own, 0.0), steal_s=max(steal, 0.0))


class ProcessTree:
    """CPU time of a process and its descendants.

    Each process's own user + system counts, plus the children it has reaped (the kernel
    adds those to the reaper's children_* times): a descendant that exits and is reaped by
    anyone in the tree is counted once, by its reaper.
    """

    def __init__(self, pid: int | None = None) -> None:
        import psutil

        self._root = psutil.Process(pid)

    def own_cpu_s(self) -> float:
        """The root alone (all its threads, and the children it has reaped): cheap, for the
        sampling thread."""
        return _cpu_s(self._root.cpu_times())

    def cpu_s(self) -> float:
        """The root and every live descendant (scans the process table: not for tight
        loops)."""
        import psutil

        try:
            children = self._root.children(recursive=True)
        except psutil.Error:
            children = []
        total = self.own_cpu_s()
        for child in children:
            try:
                total += _cpu_s(child.cpu_times())
            except psutil.Error:  # gone since the scan: its reaper has it now
                continue
        return total


def _cpu_s(times) -> float:  # type: ignore[no-untyped-def]
    return float(times.user + times.system + times.children_user + times.children_system)


def read(tree: ProcessTree, *, whole_tree: bool = True, proc_stat: Path = PROC_STAT
         ) -> Counters:
    """Every counter now. `whole_tree=False` reads only the root process (cheap)."""
    ticks = os.sysconf("SC_CLK_TCK")
    return Counters(wall_s=time.monotonic(),
                    cores=parse_proc_stat(proc_stat.read_text(), ticks),
                    tree_cpu_s=tree.cpu_s() if whole_tree else tree.own_cpu_s())


def readable(proc_stat: Path = PROC_STAT) -> str | None:
    """Why interference cannot be measured here, or None."""
    try:
        proc_stat.read_text()
    except OSError as exc:
        return f"interference not measured: {proc_stat} is not readable ({exc.strerror})"
    try:
        import psutil  # noqa: F401
    except ImportError:
        return "interference not measured: psutil is not installed"
    return None
