"""Timers, the stopping rule, memory readings, and the statistics of a latency stream.

One phase timer, parameterised by device: CUDA events on GPU (recorded on the stream,
so marking a phase adds no sync; only the last mark waits), perf_counter on CPU.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

CONFIDENCE = 0.95
# Below this many samples no order-statistic interval reaches 95% coverage for the median.
MIN_SAMPLES_FOR_CI = 6


def median_ci(samples: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE
              ) -> tuple[float, float]:
    """Distribution-free confidence interval of the median, from order statistics.

    The number of samples below the true median is Binomial(n, 1/2); no normality is
    assumed, which matters for latencies with a long right tail. With fewer than 6
    samples no interval reaches 95% and the result is (-inf, inf).
    """
    from scipy.stats import binom

    a = np.sort(np.asarray(samples, dtype=float))
    n = len(a)
    alpha = (1 - confidence) / 2
    # [a[k], a[n-1-k]] covers the median with probability 1 - 2 * cdf(k): take the largest k
    # whose coverage is still at least `confidence` (0-based ranks).
    k = int(binom.ppf(alpha, n, 0.5))
    if binom.cdf(k, n, 0.5) > alpha:
        k -= 1
    if k < 0:
        return float("-inf"), float("inf")
    return float(a[k]), float(a[n - 1 - k])


@dataclass(frozen=True)
class LatencyStats:
    n: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    std_ms: float
    iqr_ms: float
    cv: float
    min_ms: float
    max_ms: float
    ci_low_ms: float
    ci_high_ms: float

    @property
    def ci_rel(self) -> float:
        """Half-width of the median's confidence interval relative to the median (worst side)."""
        if not np.isfinite(self.ci_low_ms) or not np.isfinite(self.ci_high_ms):
            return float("inf")
        return max(self.p50_ms - self.ci_low_ms, self.ci_high_ms - self.p50_ms) / self.p50_ms

    @classmethod
    def from_samples(cls, latencies_ms: Sequence[float]) -> LatencyStats:
        if len(latencies_ms) == 0:
            raise ValueError("no latency samples to summarise")
        a = np.asarray(latencies_ms, dtype=float)
        p25, p50, p75, p90, p95, p99 = np.percentile(a, [25, 50, 75, 90, 95, 99])
        std = float(a.std(ddof=1)) if len(a) > 1 else 0.0
        lo, hi = median_ci(a)
        return cls(
            n=len(a), mean_ms=float(a.mean()), p50_ms=float(p50), p90_ms=float(p90),
            p95_ms=float(p95), p99_ms=float(p99), std_ms=std, iqr_ms=float(p75 - p25),
            cv=std / float(a.mean()), min_ms=float(a.min()), max_ms=float(a.max()),
            ci_low_ms=lo, ci_high_ms=hi,
        )


@dataclass(frozen=True)
class StoppingRule:
    """Measure at least `min_batches` and `min_seconds`; stop once the median is pinned down
    to +-`ci_target` (95% CI), or at `max_seconds` whatever the interval.

    The cap never cuts below `min_batches`: every result has enough samples for an interval.
    """

    min_batches: int = 10
    min_seconds: float = 2.0
    max_seconds: float = 30.0
    ci_target: float = 0.02

    def __post_init__(self) -> None:
        if self.min_batches < MIN_SAMPLES_FOR_CI:
            raise ValueError(f"min_batches must be >= {MIN_SAMPLES_FOR_CI} for a 95% interval "
                             f"of the median, got {self.min_batches}")
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ValueError("need 0 < min_seconds <= max_seconds")
        if not 0 < self.ci_target < 1:
            raise ValueError(f"ci_target must be in (0, 1), got {self.ci_target}")

    def verdict(self, samples_ms: Sequence[float], elapsed_s: float) -> str | None:
        """'stable' or 'time_cap' when measuring should stop, None to go on."""
        if len(samples_ms) < self.min_batches:
            return None
        if elapsed_s >= self.min_seconds:
            if LatencyStats.from_samples(samples_ms).ci_rel <= self.ci_target:
                return "stable"
        return "time_cap" if elapsed_s >= self.max_seconds else None


class PhaseTimer:
    """Marks phase boundaries inside one batch; `intervals_ms()` gives the time between marks."""

    def __init__(self, device: str) -> None:
        self.cuda = device == "cuda"
        self._marks: list[Any] = []

    def mark(self) -> None:
        if self.cuda:
            import torch

            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self._marks.append(event)
        else:
            self._marks.append(time.perf_counter())

    def intervals_ms(self) -> list[float]:
        if self.cuda:
            self._marks[-1].synchronize()
            return [float(a.elapsed_time(b)) for a, b in pairwise(self._marks)]
        return [(b - a) * 1e3 for a, b in pairwise(self._marks)]


def peak_rss_bytes() -> int:
    """Peak resident set size of this process; meaningful because each case has its own process."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def reset_cuda_peaks() -> None:
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()


def cuda_peaks() -> tuple[int, int]:
    """(max_memory_allocated, max_memory_reserved) in bytes since the last reset."""
    import torch

    torch.cuda.synchronize()
    return int(torch.cuda.max_memory_allocated()), int(torch.cuda.max_memory_reserved())


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
