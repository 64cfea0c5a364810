"""Statistics of a latency stream: the median's interval, valid for correlated batches, and a
summary whose percentiles are given only where there are enough batches for them.

Why the interval is widened. Successive batches are not independent: a CPU that warms up,
a frequency governor, a neighbour's burst or the allocator make slow batches come in runs.
For a stationary stream whose lag-1 autocorrelation is rho, the variance of a location
estimate grows by about (1 + rho) / (1 - rho) (exactly so for the mean of an AR(1)
stream; for the median, whose indicator series is less correlated than the values, it is
an upper bound). So the distribution-free interval of the median (binomial order
statistics, no normality assumed) is kept, and its distance in ranks from the median is
multiplied by sqrt((1 + rho) / (1 - rho)).

rho is estimated from the ranks of the latencies (robust to a single slow batch, which
would pull a Pearson estimate towards 0) and corrected for its small-sample bias, about
-(1 + 4 rho) / n (Kendall 1954), then clipped to [0, RHO_MAX]: a negative estimate never
narrows the interval. `benchmarks/stopping_coverage.py` checks the coverage this gives at
the stopping point on simulated independent and AR(1) streams.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
# Below this many samples no order-statistic interval reaches 95% coverage for the median.
MIN_SAMPLES_FOR_CI = 6
# Beyond this the stream is too correlated to say anything: the interval is infinite.
RHO_MAX = 0.95
# A percentile q is reported only from at least PERCENTILE_TAIL / (1 - q) batches, i.e. with
# about PERCENTILE_TAIL batches beyond it: p90 from 100, p95 from 200, p99 from 1000.
PERCENTILE_TAIL = 10


def min_batches_for(q: float) -> int:
    """The fewest batches a percentile q (0.9 for p90) is reported from."""
    return math.ceil(PERCENTILE_TAIL / (1 - q) - 1e-9)


def lag1_autocorrelation(samples: Sequence[float] | np.ndarray) -> float | None:
    """Lag-1 autocorrelation of the samples' ranks (in arrival order); None below 3 samples
    or when every sample is the same."""
    a = np.asarray(samples, dtype=float)
    if len(a) < 3:
        return None
    from scipy.stats import rankdata

    ranks = rankdata(a)
    ranks -= ranks.mean()
    denominator = float(ranks @ ranks)
    if denominator == 0:
        return None
    return float(ranks[1:] @ ranks[:-1]) / denominator


def inflation(rho: float | None, n: int) -> float:
    """How much wider the median's interval must be for a stream with lag-1 autocorrelation
    `rho` estimated from `n` samples: sqrt((1 + r) / (1 - r)), r bias-corrected and clipped."""
    if rho is None or n < 3:
        return 1.0
    corrected = min(max(rho + (1 + 4 * rho) / n, 0.0), RHO_MAX)
    return math.sqrt((1 + corrected) / (1 - corrected))


def median_ci(samples: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE,
              widen: float = 1.0) -> tuple[float, float]:
    """Confidence interval of the median from order statistics, widened for correlation.

    The number of samples below the true median is Binomial(n, 1/2) for independent
    samples; no normality is assumed, which matters for latencies with a long right tail.
    `widen` >= 1 multiplies the interval's distance in ranks from the middle (see the module
    docstring). With fewer than 6 samples, or when the widened ranks fall outside the
    sample, the result is (-inf, inf): nothing can be claimed.
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
    if widen <= 1.0:
        return float(a[k]), float(a[n - 1 - k])
    middle = (n - 1) / 2
    reach = (middle - k) * widen
    low, high = math.floor(middle - reach + 1e-9), math.ceil(middle + reach - 1e-9)
    if low < 0 or high > n - 1:
        return float("-inf"), float("inf")
    return float(a[low]), float(a[high])


def _percentile(a: np.ndarray, q: float) -> float | None:
    return float(np.percentile(a, 100 * q)) if len(a) >= min_batches_for(q) else None


@dataclass(frozen=True)
class LatencyStats:
    n: int
    mean_ms: float
    p50_ms: float
    p90_ms: float | None  # None: too few batches for it (see PERCENTILE_TAIL)
    p95_ms: float | None
    p99_ms: float | None
    std_ms: float
    iqr_ms: float
    cv: float
    min_ms: float
    max_ms: float
    ci_low_ms: float
    ci_high_ms: float
    autocorr: float | None = None  # lag-1, of the ranks

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
        p25, p50, p75 = np.percentile(a, [25, 50, 75])
        std = float(a.std(ddof=1)) if len(a) > 1 else 0.0
        rho = lag1_autocorrelation(a)
        lo, hi = median_ci(a, widen=inflation(rho, len(a)))
        return cls(
            n=len(a), mean_ms=float(a.mean()), p50_ms=float(p50), p90_ms=_percentile(a, 0.90),
            p95_ms=_percentile(a, 0.95), p99_ms=_percentile(a, 0.99), std_ms=std,
            iqr_ms=float(p75 - p25), cv=std / float(a.mean()), min_ms=float(a.min()),
            max_ms=float(a.max()), ci_low_ms=lo, ci_high_ms=hi, autocorr=rho,
        )
