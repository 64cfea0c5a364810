"""One benchmark per device per machine: two `segbench run` at once must never measure the
same device at the same time, silently spoiling each other's figures.

An advisory lock (fcntl.flock) per device on a file under /tmp/segbench-locks (or
$SEGBENCH_LOCK_DIR); the kernel releases it when its holder exits, however it exits. A
second run waits up to $SEGBENCH_LOCK_WAIT_S seconds (default 600) for the device, then
refuses with a message naming the process that holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from segtasks.errors import SegbenchError, UsageError

DEFAULT_WAIT_S = 600.0
_POLL_S = 0.5


class DeviceBusy(SegbenchError, RuntimeError):
    """Another benchmark holds the device and did not let go in time."""


def lock_dir() -> Path:
    return Path(os.environ.get("SEGBENCH_LOCK_DIR") or "/tmp/segbench-locks")


WAIT_ENV = "SEGBENCH_LOCK_WAIT_S"


def wait_s() -> float:
    """Seconds to wait for a busy device: $SEGBENCH_LOCK_WAIT_S, a finite number >= 0."""
    text = os.environ.get(WAIT_ENV) or ""
    if not text.strip():
        return DEFAULT_WAIT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"{WAIT_ENV}={text!r} is not a number of seconds to wait for a "
                         f"busy device (a finite number >= 0; unset: {DEFAULT_WAIT_S:g})")
    return seconds


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    pid = handle.read().strip()
    return f"process {pid}" if pid else "another process"


@contextlib.contextmanager
def devices_locked(devices: Sequence[str], *, waiting: Callable[[str], None] | None = None
                   ) -> Iterator[None]:
    """Hold every device of `devices` (in a fixed order, so two runs never deadlock)."""
    with contextlib.ExitStack() as stack:
        for device in sorted(set(devices)):
            stack.enter_context(_device_locked(device, waiting))
        yield


@contextlib.contextmanager
def _device_locked(device: str, waiting: Callable[[str], None] | None) -> Iterator[None]:
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{device}.lock"
    patience = wait_s()  # a bad setting is refused before the lock file is touched
    with open(path, "a+") as handle:
        deadline = time.monotonic() + patience
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DeviceBusy(
                        f"device {device} is being benchmarked by {_holder(handle)} "
                        f"(lock {path}); waited {patience:g} s: try again when it has "
                        "finished (SEGBENCH_LOCK_WAIT_S sets the wait)") from None
                if not told and waiting is not None:
                    waiting(f"device {device} is being benchmarked by {_holder(handle)}: "
                            f"waiting up to {patience:g} s")
                    told = True
                time.sleep(_POLL_S)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
