"""When to stop measuring a case.

Two things keep the stored interval honest at the point where measuring stops:
- the interval itself is widened for correlated batches (segtasks.measure.stats);
- it is looked at only at a few batch counts, growing geometrically (10, 15, 23, 35, 53,
  80, ...), not after every batch. Checking after every batch and stopping the first time
  the interval is narrow enough picks the moment the interval happens to be too narrow
  (optional stopping); a handful of looks keeps that bias small while wasting at most a
  third of the batches a per-batch check would need.
`benchmarks/stopping_coverage.py` prints the coverage this reaches beside the old rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from segtasks.measure.stats import MIN_SAMPLES_FOR_CI, LatencyStats

# The first look: the lag-1 autocorrelation means little from fewer batches.
FIRST_LOOK = 10
# Each look comes after this many times the batches of the one before.
LOOK_GROWTH = 1.5


def _first_look(min_batches: int) -> int:
    return max(min_batches, FIRST_LOOK)


@cache
def _looks(first: int, up_to: int) -> frozenset[int]:
    looks, n = [], first
    while n <= up_to:
        looks.append(n)
        n = max(n + 1, math.ceil(n * LOOK_GROWTH))
    return frozenset(looks)


def is_look(n: int, min_batches: int) -> bool:
    """Whether the interval is checked after `n` batches."""
    first = _first_look(min_batches)
    bound = first
    while bound < n:  # the schedule up to n, cached by powers of two
        bound *= 2
    return n in _looks(first, bound)


@dataclass(frozen=True)
class StoppingRule:
    """Measure at least `min_batches` and `min_seconds`; stop at the first look (see the
    module docstring) where the median is pinned down to +-`ci_target` (95% interval,
    widened for correlation), or at `max_seconds` whatever the interval.

    The cap never cuts below `min_batches`: every result has enough samples for an interval.
    The defaults are the run parameters' (segtasks.plan.case.Case); `for_case` is the usual
    way to make one.
    """

    min_batches: int
    min_seconds: float
    max_seconds: float
    ci_target: float

    def __post_init__(self) -> None:
        if self.min_batches < MIN_SAMPLES_FOR_CI:
            raise ValueError(f"min_batches must be >= {MIN_SAMPLES_FOR_CI} for a 95% interval "
                             f"of the median, got {self.min_batches}")
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ValueError("need 0 < min_seconds <= max_seconds")
        if not 0 < self.ci_target < 1:
            raise ValueError(f"ci_target must be in (0, 1), got {self.ci_target}")

    @classmethod
    def for_case(cls, case: object) -> StoppingRule:
        return cls(**{name: getattr(case, name) for name in
                      ("min_batches", "min_seconds", "max_seconds", "ci_target")})

    def stop_reason(self, samples_ms: Sequence[float], elapsed_s: float) -> str | None:
        """'stable' or 'time_cap' when measuring should stop, None to go on."""
        n = len(samples_ms)
        if n < self.min_batches:
            return None
        if elapsed_s >= self.min_seconds and is_look(n, self.min_batches):
            if LatencyStats.from_samples(samples_ms).ci_rel <= self.ci_target:
                return "stable"
        return "time_cap" if elapsed_s >= self.max_seconds else None

    def unstable_reason(self, samples_ms: Sequence[float]) -> str:
        """Which rule was not met when measuring stopped at the cap: told from the samples
        alone (the looks depend only on batch counts), for the result's warning.

        A final interval within the target does not make a case stable: the interval is
        only looked at at a few batch counts (module docstring), and only once
        `min_seconds` have passed; the cap can come between two looks.
        """
        n, cap, target = len(samples_ms), f"{self.max_seconds:g} s cap", self.ci_target
        stats = LatencyStats.from_samples(samples_ms)
        if not math.isfinite(stats.ci_rel):
            rho = "unknown" if stats.autocorr is None else f"{stats.autocorr:.2f}"
            return (f"too few batches for the median's interval once widened for their "
                    f"correlation: {n} batches at the {cap}, lag-1 autocorrelation {rho}")
        if stats.ci_rel > target:
            return (f"the median's 95% interval was +-{stats.ci_rel:.1%} after {n} batches "
                    f"at the {cap}, wider than the target +-{target:.1%}")
        looks = sorted(_looks(_first_look(self.min_batches), max(n, 1) * 2))
        done = [look for look in looks if look <= n]
        upcoming = next(look for look in looks if look > n)
        if not done:
            return (f"the {cap} came after {n} batches, before the first check of the "
                    f"interval (at {upcoming} batches); it was +-{stats.ci_rel:.1%} then, "
                    f"target +-{target:.1%}")
        last = done[-1]
        at_last = LatencyStats.from_samples(samples_ms[:last]).ci_rel
        if at_last <= target:  # it would have stopped there, had the minimum time passed
            return (f"at the last check ({last} batches) the interval was +-{at_last:.1%}, "
                    f"within the target, but the minimum {self.min_seconds:g} s had not "
                    f"passed; the {cap} came after {n} batches, before the next check (at "
                    f"{upcoming} batches)")
        return (f"the median's 95% interval was +-{at_last:.1%} at the last check ({last} "
                f"batches), wider than the target +-{target:.1%}; it narrowed to "
                f"+-{stats.ci_rel:.1%} after {n} batches, but the {cap} came before the "
                f"next check (at {upcoming} batches)")
