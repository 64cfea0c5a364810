"""Timing and memory primitives, and the statistics of a latency stream.

One timer, parameterised by device: CUDA events plus a sync on GPU (the host clock
would stop before the kernels do), perf_counter on CPU.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class LatencyStats:
    n: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    std_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def from_samples(cls, latencies_ms: Sequence[float]) -> LatencyStats:
        if len(latencies_ms) == 0:
            raise ValueError("no latency samples to summarise")
        a = np.asarray(latencies_ms, dtype=float)
        p50, p90, p95, p99 = np.percentile(a, [50, 90, 95, 99])
        return cls(
            n=len(a),
            mean_ms=float(a.mean()),
            p50_ms=float(p50),
            p90_ms=float(p90),
            p95_ms=float(p95),
            p99_ms=float(p99),
            std_ms=float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            min_ms=float(a.min()),
            max_ms=float(a.max()),
        )


def timed(device: str, fn: Callable[[], T]) -> tuple[T, float]:
    """Run `fn` once and return its result with its wall latency in milliseconds."""
    if device == "cuda":
        import torch

        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        result = fn()
        end.record()
        end.synchronize()
        return result, float(start.elapsed_time(end))
    t0 = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - t0) * 1e3


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
