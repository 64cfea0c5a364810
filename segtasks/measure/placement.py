"""Where a case's process runs: the cores it is pinned to (`cpu_affinity`), and so the cores
in use that interference is counted on. No torch here: the worker pins itself before it
loads the measuring stack, so that OpenMP sizes its pool for the pinned cores."""

from __future__ import annotations

import os

from segtasks.plan.case import cores_text


def allowed_cores() -> tuple[int, ...]:
    """The cores this process may run on now (its affinity mask, a container's cpuset
    included)."""
    if hasattr(os, "sched_getaffinity"):
        return tuple(sorted(os.sched_getaffinity(0)))
    return tuple(range(os.cpu_count() or 1))


def unavailable(cores: tuple[int, ...]) -> str | None:
    """Why the process cannot be pinned to `cores`, or None (also when none are asked)."""
    if not cores:
        return None
    if not hasattr(os, "sched_setaffinity"):
        return "cpu_affinity needs Linux (os.sched_setaffinity); this worker cannot pin"
    allowed = allowed_cores()
    missing = sorted(set(cores) - set(allowed))
    if missing:
        return (f"cpu_affinity asks for cores {cores_text(tuple(missing))}, which this worker "
                f"cannot use (it may use {cores_text(allowed)})")
    return None


def pin(cores: tuple[int, ...]) -> None:
    """Pin this process (and the threads and children it starts later) to `cores`."""
    if cores and tuple(sorted(os.sched_getaffinity(0))) != tuple(sorted(cores)):
        os.sched_setaffinity(0, cores)
