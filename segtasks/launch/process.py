"""The worker process of one case: started in a process group of its own, its output
streamed line by line into the parent's log while it measures, and killed with its whole
group when the parent stops (a signal, a time limit, an exception, or the parent's death).

No orphan keeps measuring after its run has ended, where it would overlap the next one.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from segtasks.errors import SegbenchError

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1
_TAIL_LINES = 40
_WATCH_EVERY_S = 1.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the kernel kills the worker when the process that started it dies, even by
    SIGKILL (a Celery worker killed mid-case). Elsewhere the process group still is."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class LauncherOrphaned(SegbenchError, RuntimeError):
    """The process this launcher works for (e.g. Airflow's task supervisor) is gone."""


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: killed at the time limit
    tail: str  # the last lines of its output, for a crash reason


def run_streamed(cmd: Sequence[str], *, label: str, timeout_s: float | None,
                 watch_pid: int | None = None,
                 extra_env: dict[str, str] | None = None) -> Finished:
    """Run `cmd`, log each output line as `[label] line` as it comes, and return how it
    ended; whatever interrupts the wait (KeyboardInterrupt, a signal handler's exception)
    kills the worker's process group before it propagates.

    `watch_pid`: a process whose death ends the case too. Airflow runs a task in a process
    group of its own under a supervisor; when the supervisor (or the Celery worker around
    it) is killed outright, the task process lives on as an orphan, and the kernel's
    parent-death signal, tied to the task process, never fires.
    """
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        errors="replace", bufsize=1, start_new_session=True, preexec_fn=_die_with_parent,
        env={**os.environ, **(extra_env or {}), "PYTHONUNBUFFERED": "1"},
    )
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    reader = threading.Thread(target=_pump, args=(proc, label, tail), daemon=True)
    reader.start()
    try:
        returncode = _wait(proc, timeout_s, watch_pid)
        if returncode is None:
            kill_group(proc)
    except BaseException:
        kill_group(proc)
        raise
    finally:
        reader.join(timeout=5)
    return Finished(returncode, "\n".join(tail))


def _wait(proc: subprocess.Popen, timeout_s: float | None, watch_pid: int | None
          ) -> int | None:
    """The worker's exit code, or None at the time limit."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return None
        try:
            return proc.wait(timeout=_WATCH_EVERY_S if left is None else min(left, _WATCH_EVERY_S))
        except subprocess.TimeoutExpired:
            pass
        if watch_pid is not None and not _alive(watch_pid):
            raise LauncherOrphaned(f"process {watch_pid}, which this case was measured for, "
                                   "is gone: the case is stopped")


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _pump(proc: subprocess.Popen, label: str, tail: collections.deque[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail.append(line)
        log.info("[%s] %s", label, line)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the worker and everything it started (its own process group), then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
