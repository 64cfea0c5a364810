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
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from segtasks.errors import SegbenchError

DEFAULT_WAIT_S = 600.0
_POLL_S = 0.5


class DeviceBusy(SegbenchError, RuntimeError):
    """Another benchmark holds the device and did not let go in time."""


def lock_dir() -> Path:
    return Path(os.environ.get("SEGBENCH_LOCK_DIR") or "/tmp/segbench-locks")


def wait_s() -> float:
    return float(os.environ.get("SEGBENCH_LOCK_WAIT_S") or DEFAULT_WAIT_S)


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
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_s()
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DeviceBusy(
                        f"device {device} is being benchmarked by {_holder(handle)} "
                        f"(lock {path}); waited {wait_s():g} s: try again when it has "
                        "finished (SEGBENCH_LOCK_WAIT_S sets the wait)") from None
                if not told and waiting is not None:
                    waiting(f"device {device} is being benchmarked by {_holder(handle)}: "
                            f"waiting up to {wait_s():g} s")
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
