"""Evidence pooled across nights: a step too small for one night, caught within days.

Each night alone is judged against the median of the K nights before it; a 5% step on a
series whose nights spread by 3% is seen on its first night only sometimes, and the nights
after it soon sit in the baseline themselves. This test looks at the recent nights as one
sample instead: for every split of the last `max_after` nights (tonight included, at least
`min_after` of them after the split) against the up to `max_before` nights before the
split, it takes the split whose means differ most in units of their standard error (the
classic single change-point scan, CUSUM-like):

    z = (mean(after) - mean(before)) / (sigma * sqrt(1 / a + 1 / b))

where sigma is one night's noise (segtasks.judge.decide.series_noise over the whole
window: a step adds one large successive difference, which the trimming leaves out). The
nights' values are the stored ones, after same-night confirmation: a one-off disturbed
measurement was already replaced by the pooled processes, so plain means serve (medians,
tried first, lost a quarter of the power: benchmarks/detector_eval.py). The scan looks at
several splits, so its threshold (`step_z_threshold`, 4) is set above the single night's;
detector_eval measures the false alarms it adds. The change must also be large (as for a
single night, segtasks.judge.decide.flagged, with the split's standard error in place of
the night's noise). The step's first night is named in the verdict (`began_run_pk`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from segtasks.judge.decide import flagged, series_noise
from segtasks.judge.thresholds import Threshold


@dataclass(frozen=True)
class Step:
    began: int  # index (in the values given, oldest first) of the step's first night
    nights_after: int
    effect: float  # mean(after) / mean(before) - 1
    z: float  # positive = worse
    noise: float  # relative standard error of the split


def find_step(values: list[float], *, higher_is_better: bool, threshold: Threshold,
              step_z_threshold: float, max_after: int = 7, max_before: int = 14,
              min_after: int = 2, min_before: int = 3) -> Step | None:
    """The step that ends in the newest value (`values` oldest first, tonight last), if
    the recent nights show one beyond the noise; None otherwise."""
    n = len(values)
    window = values[-(max_after + max_before):]
    sigma = series_noise(window)
    if sigma <= 0:
        return None
    best: tuple[float, int] | None = None
    for after in range(min_after, min(max_after, n - min_before) + 1):
        before = values[-after - max_before:-after]
        t = (statistics.fmean(values[-after:]) - statistics.fmean(before)) / (
            sigma * math.sqrt(1 / after + 1 / len(before)))
        if best is None or abs(t) > abs(best[0]):
            best = (t, after)
    if best is None:
        return None
    after = best[1]
    tail, before = values[-after:], values[-after - max_before:-after]
    centre = statistics.fmean(before)
    effect = statistics.fmean(tail) / centre - 1.0
    noise = sigma / centre * math.sqrt(1 / after + 1 / len(before))
    worse = -effect if higher_is_better else effect
    by_steps = Threshold(threshold.min_effect, step_z_threshold)
    if not (flagged(worse, noise, by_steps) or flagged(-worse, noise, by_steps)):
        return None
    return Step(began=n - after, nights_after=after, effect=effect, z=worse / noise,
                noise=noise)
