"""The paired comparison of two environments on one case: pure, no I/O.

Each pair gives one ratio, treatment over control, measured minutes apart (interleaved) or
at the same time (duet) on the same machine: whatever the machine did tonight moves both
sides of a pair alike and cancels in the ratio. The statistics work on the log ratios
d_i = log(t_i / c_i), which are symmetric (a 2x slowdown and a 2x speed-up are -log 2 and
+log 2) and multiply back into a ratio:

- ratio: exp(mean d), the geometric mean of the per-pair ratios;
- interval: the t interval of mean d (n - 1 degrees of freedom), exp'd;
- p-value: the one-sample t test of mean d = 0 (a Wilcoxon signed-rank test cannot go
  below 2 / 2^n, 0.0625 with 5 pairs: too coarse for a handful of pairs);
- minimum detectable effect: the relative change these pairs would detect with the given
  power at the given confidence, exp((t_{1-a/2} + t_{power}) sd / sqrt n) - 1.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from segtasks.errors import SegbenchError

# The most pairs `pairs_needed` asks for unless told: a paired night measures each case
# 2 x pairs times, and a series noisier than this cap allows is better served by a
# larger minimum effect than by an ever longer night.
MAX_PAIRS = 20


class PairedValuesError(SegbenchError, ValueError):
    """Values that cannot be paired (different counts, a value that is not positive)."""


@dataclass(frozen=True)
class PairedSummary:
    n: int  # complete pairs
    ratio: float | None  # treatment / control, geometric mean of the pairs' ratios
    ci_low: float | None  # the interval of the ratio (None with fewer than 2 pairs)
    ci_high: float | None
    p_value: float | None  # the t test of no change (None with fewer than 2 pairs)
    log_sd: float | None  # standard deviation of the per-pair log ratios
    mde: float | None  # relative: the change these pairs detect with `power`
    confidence: float
    power: float
    higher_is_better: bool = True

    @property
    def change(self) -> float | None:
        """Relative change treatment against control (-0.061: 6.1% lower)."""
        return None if self.ratio is None else self.ratio - 1.0

    @property
    def half_width(self) -> float | None:
        """Half the interval's width, relative (the '+-1.1%' of a night's line)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2


def log_ratios(control: Sequence[float], treatment: Sequence[float]) -> list[float]:
    if len(control) != len(treatment):
        raise PairedValuesError(f"{len(control)} control values but {len(treatment)} "
                                "treatment values: pairs need one of each")
    bad = [v for v in (*control, *treatment) if not (v > 0 and math.isfinite(v))]
    if bad:
        raise PairedValuesError(f"paired values must be positive and finite, not {bad[0]!r}")
    return [math.log(t / c) for c, t in zip(control, treatment, strict=True)]


def _quantiles(n: int, confidence: float, power: float) -> float:
    """t_{1-a/2, n-1} + t_{power, n-1}: how many standard errors a true change must lie
    from zero to be seen with `power` by a two-sided test at `confidence`."""
    from scipy import stats as scipy_stats  # here: the DAG file's imports stay light

    df = n - 1
    return float(scipy_stats.t.ppf(1 - (1 - confidence) / 2, df)
                 + scipy_stats.t.ppf(power, df))


def detectable(log_sd: float, n: int, *, confidence: float = 0.95,
               power: float = 0.9) -> float | None:
    """The minimum detectable relative effect of `n` pairs of this spread (None below 2)."""
    if n < 2:
        return None
    return math.expm1(_quantiles(n, confidence, power) * log_sd / math.sqrt(n))


def paired_summary(control: Sequence[float], treatment: Sequence[float], *,
                   confidence: float = 0.95, power: float = 0.9,
                   higher_is_better: bool = True) -> PairedSummary:
    """The paired ratio of `treatment` over `control` (same pairs, same order) with its
    interval, p-value and minimum detectable effect."""
    from scipy import stats as scipy_stats

    d = log_ratios(control, treatment)
    n = len(d)
    if n == 0:
        return PairedSummary(0, None, None, None, None, None, None, confidence, power,
                             higher_is_better)
    mean = statistics.fmean(d)
    if n == 1:
        return PairedSummary(1, math.exp(mean), None, None, None, None, None, confidence,
                             power, higher_is_better)
    sd = statistics.stdev(d)
    half = float(scipy_stats.t.ppf(1 - (1 - confidence) / 2, n - 1)) * sd / math.sqrt(n)
    if sd > 0:
        p = float(scipy_stats.ttest_1samp(d, 0.0).pvalue)
    else:  # every pair gave the same ratio: scipy's t is undefined (0 / 0 or x / 0)
        p = 1.0 if mean == 0 else 0.0
    return PairedSummary(n, math.exp(mean), math.exp(mean - half), math.exp(mean + half), p,
                         sd, detectable(sd, n, confidence=confidence, power=power),
                         confidence, power, higher_is_better)


def pairs_needed(log_sd: float, min_effect: float, *, confidence: float = 0.95,
                 power: float = 0.9, floor: int = 3, cap: int = MAX_PAIRS) -> int:
    """The fewest pairs whose minimum detectable effect is at most `min_effect`, given the
    series' paired spread `log_sd` (the standard deviation of its per-pair log ratios),
    clamped to [floor, cap]; `cap` when even that many cannot see `min_effect`."""
    floor = max(floor, 2)
    if cap < floor:
        raise PairedValuesError(f"the cap on pairs ({cap}) is below the floor ({floor})")
    if not math.isfinite(log_sd) or log_sd < 0:
        return cap
    for n in range(floor, cap + 1):
        mde = detectable(log_sd, n, confidence=confidence, power=power)
        if mde is not None and mde <= min_effect:
            return n
    return cap
