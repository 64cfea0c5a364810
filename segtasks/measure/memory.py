"""Memory readings of the case's own process: host RSS peak and the CUDA allocator's peaks."""

from __future__ import annotations

import resource
import sys


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
