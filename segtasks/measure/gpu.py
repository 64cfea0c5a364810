"""Who else is on the GPU, and how much device memory this process holds (NVML)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuProcesses:
    own_bytes: int | None
    others: list[tuple[int, int | None]]

    def warning(self) -> str | None:
        """What to record when the case did not have the GPU to itself."""
        if not self.others:
            return None
        used = ", ".join(
            f"pid {pid} ({'?' if b is None else f'{b / 2**20:.0f}'} MiB)" for pid, b in self.others
        )
        return f"other processes were using the GPU, timings may be slowed: {used}"


def gpu_processes(device_index: int = 0) -> GpuProcesses | None:
    """Device memory of this process (CUDA context included) and of any other process on the
    same GPU, from NVML; None where NVML cannot see the device."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(device_index)
        procs = list(pynvml.nvmlDeviceGetComputeRunningProcesses(handle))
    except pynvml.NVMLError:
        return None
    finally:
        pynvml.nvmlShutdown()
    me = os.getpid()
    own = next((p.usedGpuMemory for p in procs if p.pid == me), None)
    # In a container NVML may report host pids, so ours is missing; others are still others.
    return GpuProcesses(own_bytes=own,
                        others=[(p.pid, p.usedGpuMemory) for p in procs if p.pid != me])
