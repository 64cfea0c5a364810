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
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1
_TAIL_LINES = 40


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


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: killed at the time limit
    tail: str  # the last lines of its output, for a crash reason


def run_streamed(cmd: Sequence[str], *, label: str, timeout_s: float | None) -> Finished:
    """Run `cmd`, log each output line as `[label] line` as it comes, and return how it
    ended; whatever interrupts the wait (KeyboardInterrupt, a signal handler's exception)
    kills the worker's process group before it propagates."""
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        errors="replace", bufsize=1, start_new_session=True, preexec_fn=_die_with_parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    reader = threading.Thread(target=_pump, args=(proc, label, tail), daemon=True)
    reader.start()
    try:
        returncode: int | None = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        returncode = None
    except BaseException:
        kill_group(proc)
        raise
    finally:
        reader.join(timeout=5)
    return Finished(returncode, "\n".join(tail))


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
