"""The GPU a case runs on, as NVML sees it: found by its UUID, with this process told apart
from the others on it (containers included), and the driver's clock event reasons.

Which device: torch's index is not NVML's (CUDA_VISIBLE_DEVICES renumbers, and CUDA's
default FASTEST_FIRST order may differ from NVML's PCI order), so the device is found by
the UUID torch reports (`GPU-<uuid>`, or `MIG-<uuid>` for a MIG instance, whose power,
clocks and energy are read on its parent GPU).

Which process is ours: NVML reports host PIDs, and a container's `os.getpid()` is
another number (the driver ignores PID namespaces). So the PIDs on every device are noted
before this process touches CUDA; after, our PID is `os.getpid()` if the driver lists it
(bare metal, `--pid=host`), else the one PID that appeared meanwhile. When several
appeared, which is ours is unknown and is said so, never guessed.

No torch here: the caller passes torch's UUID in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Clock event reasons (the driver's bitmask; NVML >= R535 calls them "clocks event
# reasons", older ones "throttle reasons", same bits).
REASONS = {
    0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap",
    0x8: "hw_slowdown", 0x10: "sync_boost", 0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown", 0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting", 0x200: "board_limit", 0x400: "reliability",
}
# Reasons that mean the clocks were cut for something other than the work itself: heat,
# a hardware signal, the power brake. A software power cap under full load is normal
# (recorded, not held against the case); idle and application clocks are benign.
HARMFUL = 0x8 | 0x20 | 0x40 | 0x80 | 0x200 | 0x400


def reason_names(mask: int) -> list[str]:
    return [name for bit, name in REASONS.items() if mask & bit]


@dataclass(frozen=True)
class Device:
    """A device found in NVML: `handle` for its processes and memory (a MIG instance's
    own), `parent` for the whole GPU's power, clocks and energy."""

    nvml: Any
    handle: Any
    parent: Any
    uuid: str
    mig: bool


def load_nvml() -> tuple[Any | None, str | None]:
    """pynvml, initialised, or None and why not."""
    try:
        import pynvml
    except ImportError:
        return None, "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return None, f"NVML cannot start: {exc}"
    return pynvml, None


def _pids(nvml: Any, handle: Any) -> list[Any]:
    """The compute processes on a device (objects with .pid and .usedGpuMemory)."""
    try:
        return list(nvml.nvmlDeviceGetComputeRunningProcesses(handle))
    except getattr(nvml, "NVMLLibraryMismatchError", ()):  # a driver without the _v3 call
        return list(nvml.nvmlDeviceGetComputeRunningProcesses_v2(handle))


def pids_everywhere(nvml: Any) -> set[int]:
    """PIDs of the compute processes on every device NVML sees (before we touch CUDA)."""
    found: set[int] = set()
    try:
        count = nvml.nvmlDeviceGetCount()
    except nvml.NVMLError:
        return found
    for index in range(count):
        try:
            found.update(p.pid for p in _pids(nvml, nvml.nvmlDeviceGetHandleByIndex(index)))
        except nvml.NVMLError:
            continue
    return found


def find_device(nvml: Any, torch_uuid: str) -> Device | None:
    """The device with torch's UUID (bare hex, as torch prints it, or already prefixed)."""
    bare = torch_uuid.removeprefix("GPU-").removeprefix("MIG-")
    for prefix, mig in (("GPU-", False), ("MIG-", True)):
        try:
            handle = nvml.nvmlDeviceGetHandleByUUID(prefix + bare)
        except nvml.NVMLError:
            continue
        parent = handle
        if mig:
            try:
                parent = nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(handle)
            except nvml.NVMLError:
                parent = handle
        return Device(nvml, handle, parent, prefix + bare, mig or _mig_enabled(nvml, handle))
    return None


def _mig_enabled(nvml: Any, handle: Any) -> bool:
    try:
        current, _pending = nvml.nvmlDeviceGetMigMode(handle)
    except nvml.NVMLError:  # NotSupported: a GPU without MIG
        return False
    return bool(current)


@dataclass(frozen=True)
class GpuProcesses:
    """Who is on the device. `own_pid` is the PID the driver knows this process by (None
    when it cannot be told); `unmatched` are PIDs that appeared with ours, one of them ours."""

    own_pid: int | None
    own_bytes: int | None
    others: list[tuple[int, int | None]]
    matched_by: str  # "pid", "new pid" (a container) or "unknown"
    unmatched: list[int] = field(default_factory=list)

    @property
    def other_count(self) -> int:
        """Processes that are certainly not this one."""
        return len(self.others) + max(len(self.unmatched) - 1, 0)

    def warning(self) -> str | None:
        """What to record when the case did not have the GPU to itself."""
        if not self.other_count:
            return None
        used = ", ".join(
            f"pid {pid} ({'?' if b is None else f'{b / 2**20:.0f}'} MiB)" for pid, b in self.others
        )
        if self.unmatched and len(self.unmatched) > 1:
            used = ", ".join(filter(None, [used, f"{len(self.unmatched)} processes started "
                                                 f"with this one (pids {self.unmatched})"]))
        return f"other processes were using the GPU, timings may be slowed: {used}"


def match_processes(procs: Iterable[Any], before: set[int] | None,
                    my_pid: int | None = None) -> GpuProcesses:
    """This process among the device's compute processes (see the module docstring).

    `before`: the PIDs on any device before this process touched CUDA (None if unknown).
    """
    procs = list(procs)
    me = os.getpid() if my_pid is None else my_pid
    by_pid = {p.pid: p.usedGpuMemory for p in procs}
    if me in by_pid:
        return GpuProcesses(me, by_pid[me], [(p, b) for p, b in by_pid.items() if p != me],
                            "pid")
    new = [pid for pid in by_pid if before is not None and pid not in before]
    if len(new) == 1:
        ours = new[0]
        return GpuProcesses(ours, by_pid[ours],
                            [(p, b) for p, b in by_pid.items() if p != ours], "new pid")
    known = [(p, b) for p, b in by_pid.items() if p not in new]
    return GpuProcesses(None, None, known, "unknown", unmatched=new)


def processes(device: Device, before: set[int] | None, own_pid: int | None = None
              ) -> GpuProcesses | None:
    """Who is on the device now; `own_pid` once known (from an earlier reading)."""
    try:
        procs = _pids(device.nvml, device.handle)
    except device.nvml.NVMLError:
        return None
    if own_pid is not None:
        return match_processes(procs, before, my_pid=own_pid)
    return match_processes(procs, before)
