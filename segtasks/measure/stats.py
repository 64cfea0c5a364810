"""Statistics of a latency stream: the median's distribution-free interval and a summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
