"""Memory readings of the case's own process: host RSS peak and the CUDA allocator's peaks.

Each CUDA peak is measured from an emptied cache: `fresh_peaks()` waits for the device,
returns the cached blocks to the driver (`empty_cache`) and resets the peak counters, so
that the next peak is what the phase itself needed, not what an earlier phase (cuDNN's
trial workspaces during autotuning, say) left reserved.
"""

from __future__ import annotations

import resource
import sys


def peak_rss_bytes() -> int:
    """Peak resident set size of this process; meaningful because each case has its own process."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def fresh_peaks() -> None:
    import torch

    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()


def cuda_peaks() -> tuple[int, int]:
    """(max_memory_allocated, max_memory_reserved) in bytes since the last reset."""
    import torch

    torch.cuda.synchronize()
    return int(torch.cuda.max_memory_allocated()), int(torch.cuda.max_memory_reserved())
