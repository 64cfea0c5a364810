"""Watching the timed loop: interference, GPU telemetry and energy, off the timed path.

`Watch` is a context manager around the timed loop. On entry and exit (outside the loop)
it reads the cumulative counters: CPU time per core and of the case's process tree
(segtasks.measure.interference), RAPL package energy, the GPU's total energy, and who is
on the GPU. Cumulative counters need only these two readings. What has no counter (GPU
power, SM clock, clock event reasons, utilisation, memory used, the processes on the
device) is sampled by a background thread every `interval_s` while the loop runs.

Cost: the thread sleeps between samples and the NVML calls it makes release the GIL
(ctypes); the process list, which takes the driver's lock for milliseconds, is read only
every `process_every_s`. `benchmarks/overhead.py --telemetry` measures what it costs the
forward pass.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from segtasks.measure import gpu, interference, rapl
from segtasks.result import Telemetry

# The driver's energy counter updates every 20-100 ms: shorter windows say little.
MIN_ENERGY_WINDOW_S = 1.0


@dataclass
class GpuSample:
    at_s: float
    memory_used: int | None = None
    power_mw: int | None = None
    sm_clock_mhz: int | None = None
    reasons: int | None = None
    utilization: int | None = None


@dataclass
class Watched:
    """What a Watch saw: the parts a result needs, and the evidence for its validity."""

    telemetry: Telemetry
    interference: interference.Interference | None
    interference_reason: str | None
    gpu_processes: gpu.GpuProcesses | None
    harmful_reasons: list[str] = field(default_factory=list)


class Watch:
    def __init__(self, cores_in_use: tuple[int, ...], device: gpu.Device | None = None, *,
                 gpu_before: set[int] | None = None, gpu_own_pid: int | None = None,
                 interval_s: float = 0.2, process_every_s: float = 2.0,
                 counters: Callable[[bool], interference.Counters] | None = None) -> None:
        """`counters(whole_tree)` reads the CPU counters (injected by tests)."""
        self.cores_in_use = cores_in_use
        self.device = device
        self.interval_s = interval_s
        self.process_every_s = process_every_s
        self._gpu_before = gpu_before
        self._own_pid = gpu_own_pid
        self._counters = counters
        self._cpu_reason = None if counters else interference.readable()
        self.samples: list[GpuSample] = []
        self.process_readings: list[gpu.GpuProcesses] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsupported: set[str] = set()

    # --- the two readings at the ends ---
    def __enter__(self) -> Watch:
        if self._counters is None and self._cpu_reason is None:
            tree = interference.ProcessTree()
            self._counters = lambda whole: interference.read(tree, whole_tree=whole)
        self._cpu_start = self._counters(True) if self._counters else None
        self._rapl_start, self._rapl_reason = rapl.start()
        self._energy_start = self._energy_mj()
        self._read_processes()
        self._t0 = time.monotonic()
        if self.device is not None:
            self._thread = threading.Thread(target=self._sample_loop, name="segbench-telemetry",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._elapsed_s = time.monotonic() - self._t0
        self._cpu_end = self._counters(True) if self._counters else None
        self._energy_end = self._energy_mj()
        self._rapl_j, reason = (rapl.joules_since(self._rapl_start) if self._rapl_start
                                else (None, self._rapl_reason))
        self._rapl_reason = reason
        self._read_processes()

    # --- the thread ---
    def _sample_loop(self) -> None:
        next_processes = time.monotonic() + self.process_every_s
        while not self._stop.wait(self.interval_s):
            self.samples.append(self._sample())
            if time.monotonic() >= next_processes:
                self._read_processes()
                next_processes += self.process_every_s

    def _call(self, name: str, *args: Any) -> Any:
        """One NVML reading, or None; a reading the device does not support is not asked
        again."""
        if name in self._unsupported or self.device is None:
            return None
        nvml = self.device.nvml
        try:
            return getattr(nvml, name)(*args)
        except (nvml.NVMLError, AttributeError):
            self._unsupported.add(name)
            return None

    def _sample(self) -> GpuSample:
        assert self.device is not None
        handle, parent, nvml = self.device.handle, self.device.parent, self.device.nvml
        memory = self._call("nvmlDeviceGetMemoryInfo", handle)
        reasons = self._call("nvmlDeviceGetCurrentClocksEventReasons", parent)
        if reasons is None:  # drivers before R535 only have the older name
            reasons = self._call("nvmlDeviceGetCurrentClocksThrottleReasons", parent)
        utilization = self._call("nvmlDeviceGetUtilizationRates", parent)
        return GpuSample(
            at_s=time.monotonic() - self._t0,
            memory_used=None if memory is None else int(memory.used),
            power_mw=self._call("nvmlDeviceGetPowerUsage", parent),
            sm_clock_mhz=self._call("nvmlDeviceGetClockInfo", parent,
                                    getattr(nvml, "NVML_CLOCK_SM", 1)),
            reasons=reasons,
            utilization=None if utilization is None else int(utilization.gpu))

    def _read_processes(self) -> None:
        if self.device is None:
            return
        seen = gpu.processes(self.device, self._gpu_before, self._own_pid)
        if seen is not None:
            self._own_pid = seen.own_pid if seen.own_pid is not None else self._own_pid
            self.process_readings.append(seen)

    def _energy_mj(self) -> int | None:
        if self.device is None:
            return None
        return self._call("nvmlDeviceGetTotalEnergyConsumption", self.device.parent)

    # --- the summary ---
    def summary(self, images: int) -> Watched:
        """What was seen while `images` images went through the timed loop."""
        cpu = cpu_reason = None
        if self._cpu_start is not None and self._cpu_end is not None:
            try:
                cpu = interference.account(self._cpu_start, self._cpu_end, self.cores_in_use)
            except ValueError as exc:
                cpu_reason = f"interference not measured: {exc}"
        else:
            cpu_reason = self._cpu_reason
        telemetry = Telemetry()
        if self._rapl_j is not None and images:
            telemetry.cpu_energy_j_per_image = self._rapl_j / images
        else:
            telemetry.cpu_energy_reason = self._rapl_reason or "no images were timed"
        harmful: list[str] = []
        if self.device is not None:
            harmful = self._gpu_summary(telemetry, images)
        return Watched(telemetry, cpu, cpu_reason, self._processes_seen(), harmful)

    def _gpu_summary(self, telemetry: Telemetry, images: int) -> list[str]:
        assert self.device is not None
        samples = self.samples
        telemetry.gpu_uuid = self.device.uuid
        telemetry.gpu_samples = len(samples)

        def values(name: str) -> list[int]:
            return [v for s in samples if (v := getattr(s, name)) is not None]

        memory, power, clock = values("memory_used"), values("power_mw"), values("sm_clock_mhz")
        reasons, utilization = values("reasons"), values("utilization")
        telemetry.gpu_memory_used_bytes = max(memory) if memory else None
        telemetry.gpu_power_w_mean = statistics.fmean(power) / 1e3 if power else None
        telemetry.gpu_power_w_max = max(power) / 1e3 if power else None
        telemetry.gpu_sm_clock_mhz_min = float(min(clock)) if clock else None
        telemetry.gpu_sm_clock_mhz_median = float(statistics.median(clock)) if clock else None
        maximum = self._call("nvmlDeviceGetMaxClockInfo", self.device.parent,
                             getattr(self.device.nvml, "NVML_CLOCK_SM", 1))
        telemetry.gpu_sm_clock_mhz_max = None if maximum is None else float(maximum)
        telemetry.gpu_utilization_pct = statistics.fmean(utilization) if utilization else None
        seen = 0
        for mask in reasons:
            seen |= mask
        telemetry.gpu_clock_events = ",".join(gpu.reason_names(seen)) if reasons else None
        if reasons:
            telemetry.gpu_throttled_share = sum(
                bool(m & gpu.HARMFUL) for m in reasons) / len(reasons)
        telemetry.gpu_energy_j_per_image, telemetry.gpu_energy_reason = self._gpu_energy(images)
        return gpu.reason_names(seen & gpu.HARMFUL)

    def _gpu_energy(self, images: int) -> tuple[float | None, str | None]:
        assert self.device is not None
        if self.device.mig:
            return None, ("MIG instance: the GPU's energy counter includes the other "
                          "instances' work")
        if self._energy_start is None or self._energy_end is None:
            return None, "no total-energy counter on this GPU (drivers have one from Volta on)"
        if self._elapsed_s < MIN_ENERGY_WINDOW_S:
            return None, (f"timed loop too short for the driver's energy counter "
                          f"({self._elapsed_s:.2f} s < {MIN_ENERGY_WINDOW_S:g} s)")
        if not images:
            return None, "no images were timed"
        return (self._energy_end - self._energy_start) / 1e3 / images, None

    def _processes_seen(self) -> gpu.GpuProcesses | None:
        """Every reading merged: our peak memory, and every other process seen at any time."""
        readings = self.process_readings
        if not readings:
            return None
        last = readings[-1]
        own = [r.own_bytes for r in readings if r.own_bytes is not None]
        others: dict[int, int | None] = {}
        for r in readings:
            for pid, used in r.others:
                if pid != self._own_pid:
                    previous = others.get(pid)
                    others[pid] = used if previous is None else max(previous, used or 0)
        unmatched = sorted({pid for r in readings for pid in r.unmatched}
                           - ({self._own_pid} if self._own_pid else set()))
        return gpu.GpuProcesses(self._own_pid, max(own) if own else None,
                                sorted(others.items()), last.matched_by, unmatched)
