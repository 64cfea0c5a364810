"""Several measuring processes of one case, pooled into one value and its interval.

Each process of a case (the night's `repeats`, and the confirming ones) loads the model
afresh: memory layout, allocator state and kernel selection differ from process to
process, and so does the figure. The pooled value is the median of the processes'
values (one disturbed or odd process cannot carry it); its interval is the wider of
- within: the processes' own intervals (95%, relative), root mean square / sqrt(n), and
- between: 1.96 x the standard deviation of the processes' values / sqrt(n),
so that a case whose processes disagree says so even when each one was steady.
Processes the validity checks call disturbed are left out (segtasks.measure.validity).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessValue:
    value: float  # e.g. images/s of one process
    ci_rel: float | None  # that process's own 95% interval, relative half-width
    disturbed: bool = False


@dataclass(frozen=True)
class Pooled:
    value: float
    ci_rel: float  # relative half-width of the pooled value's 95% interval
    n: int  # processes pooled
    left_out: int  # disturbed processes not pooled


def pool(processes: list[ProcessValue]) -> Pooled | None:
    """The pooled value of the undisturbed processes, or None when none is left."""
    good = [p for p in processes if not p.disturbed]
    if not good:
        return None
    n = len(good)
    centre = statistics.median(p.value for p in good)
    within = math.sqrt(statistics.fmean((p.ci_rel or 0.0) ** 2 for p in good) / n)
    between = (1.96 * statistics.stdev(p.value for p in good) / abs(centre) / math.sqrt(n)
               if n >= 2 and centre else 0.0)
    return Pooled(centre, max(within, between), n, len(processes) - n)
