"""Evidence pooled across nights: a step too small for one night, caught within days.

Each night alone is judged against the median of the K nights before it; a 5% step on a
series whose nights spread by 3% is seen on its first night only sometimes, and the nights
after it soon sit in the baseline themselves. This test looks at the recent nights as one
sample instead: for every split of the last `max_after` nights (tonight included, at least
`min_after` of them after the split) against the up to `max_before` (28) nights before
the split (the judge's whole noise window: with 14, a 20% step at CV 8% was caught within
a week 78% of the time, with 28, 85%: benchmarks/detector_eval.py), it takes the split
whose means differ most in units of their standard error (the classic single change-point
scan), then tests that split on medians, so that one odd night on either side does not
make or break it:

    z = (median(after) - median(before)) / (sigma * sqrt(f_a^2 / a + f_b^2 / b))

where sigma is one night's noise (segtasks.judge.decide.series_noise over the whole
window: a step adds one large successive difference, which the trimming leaves out) and
f_n the standard deviation of a median of n normal values in units of sigma / sqrt(n)
(of two nights, the one nearer the level before stands for both: a conservative choice).
Testing the means instead had more power (detector_eval, CV 8%, 14 nights before: 82% of
20% steps within a week against 78%), but then one odd night in the history, a whole
night slower that the checks did not see, reads as a step for a week; medians shrug it
off once three nights follow it. The scan looks at several splits, so its threshold
(`step_z_threshold`, 3.5) is set above the single night's; detector_eval measures the
false alarms it adds. The change must also be large (as for a single night,
segtasks.judge.decide.flagged, with the split's standard error in place of the night's
noise). The step's first night is named in the verdict (`began_run_pk`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from segtasks.judge.decide import flagged, series_noise
from segtasks.judge.thresholds import Threshold

# sd of the median of n normal values, in units of sigma / sqrt(n) (exact for small n,
# sqrt(pi / 2) in the limit)
_MEDIAN_FACTOR = {1: 1.0, 2: 1.0, 3: 1.160, 4: 1.092, 5: 1.197, 6: 1.135, 7: 1.214}
LARGE_SAMPLE_MEDIAN_FACTOR = math.sqrt(math.pi / 2)


@dataclass(frozen=True)
class Step:
    began: int  # index (in the values given, oldest first) of the step's first night
    nights_after: int
    effect: float  # median(after) / median(before) - 1
    z: float  # positive = worse
    noise: float  # relative standard error of the split


def median_factor(n: int) -> float:
    return _MEDIAN_FACTOR.get(n, LARGE_SAMPLE_MEDIAN_FACTOR)


def _robust_centre(tail: list[float], reference: float) -> float:
    """The median of the nights after the split; of two nights, the one nearer the level
    before, so that one odd night and an ordinary one do not make a step (the median of
    two is their mean, which one odd night carries)."""
    if len(tail) == 2:
        return min(tail, key=lambda v: abs(v - reference))
    return statistics.median(tail)


def find_step(values: list[float], *, higher_is_better: bool, threshold: Threshold,
              step_z_threshold: float, max_after: int = 7, max_before: int = 28,
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
    centre = statistics.median(before)
    effect = _robust_centre(tail, centre) / centre - 1.0
    noise = sigma / centre * math.sqrt(median_factor(after) ** 2 / after
                                       + median_factor(len(before)) ** 2 / len(before))
    worse = -effect if higher_is_better else effect
    by_steps = Threshold(threshold.min_effect, step_z_threshold)
    if not (flagged(worse, noise, by_steps) or flagged(-worse, noise, by_steps)):
        return None
    return Step(began=n - after, nights_after=after, effect=effect, z=worse / noise,
                noise=noise)
