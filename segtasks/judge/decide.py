"""The decision on one metric of one series: pure, no I/O.

Method robust-z-v3, per metric and with its direction:
- the baseline is the median of the last K good nights of the series;
- the noise is the series' night-to-night spread (`series_noise`: a trimmed root mean
  square of successive differences, so an earlier step or a slow drift does not inflate
  it), combined with tonight's own uncertainty, and never below the metric's floor;
- a change is flagged when it lies outside the noise (robust z >= z_threshold) and is large:
  at least `min_effect - 1.2816 noise`. The minimum effect is the size of change a user
  cares about; lowering its gate by 1.2816 noise units (the 90% quantile of a normal) makes
  a true change of exactly `min_effect` flagged 90% of the time, where a plain gate at
  `min_effect` would miss half of them by construction;
- the smallest change the series can see (`minimum_detectable_effect`) follows from the
  same rule and is stored with every verdict; when it is far above the minimum effect
  (`INCONCLUSIVE_FACTOR`), the nightly calls a change it did not flag `inconclusive`
  (segtasks.judge.series);
- `screened` marks a change that passes `screen_factor` times both parts of the criterion:
  the night re-measures it before it is called a regression (segtasks.judge.confirm).
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass

from segtasks.domain.metrics import Metric
from segtasks.domain.verdicts import DECISION_METHOD, VerdictKind
from segtasks.judge.thresholds import Threshold

METHOD = DECISION_METHOD
# z of the 90% quantile: a change this many noise units above the gate is caught 9 times
# in 10, which is what "can see" means throughout (power 90%)
POWER_Z = statistics.NormalDist().inv_cdf(0.90)
# A change the night did not flag is `inconclusive`, not `unchanged`, when tonight's minimum
# detectable effect is more than this many times the smallest the metric allows (the minimum
# effect, unless the metric's noise floor alone keeps it above that: host RSS). At 1.5x a
# change of exactly the minimum effect is flagged on its first night 44% of the time (at the
# default z_threshold 3 the gate is 3 noise units, the noise min_effect x 1.5 / 4.28:
# P(Z > 3 - 4.28 / 1.5)); from about 1.43x on, less than half the time, so "unchanged"
# would mostly mean "could not see".
# The detector evaluation agrees (benchmarks/detector_eval.py, 2026-11-29): at CV 2% (MDE
# 5.8%, 1.16x) 72.5% of 5% steps were caught on their first night, at CV 3% (8.8%, 1.76x)
# 29.5%: 1.5 lies between a night that can tell and one that cannot.
INCONCLUSIVE_FACTOR = 1.5
# the largest successive differences left out of the noise estimate: a step, a disturbed
# night that passed the validity checks, a software update
TRIM = 0.2


@dataclass(frozen=True)
class Decision:
    verdict: VerdictKind
    baseline: float | None = None
    effect: float | None = None  # relative change tonight / baseline - 1
    noise: float | None = None  # relative standard deviation used for z
    z: float | None = None  # effect / noise, positive = worse
    mde: float | None = None  # smallest relative change this series sees (90% of the time)
    screened: bool = False  # close enough to the criterion to be measured again tonight


def _trimmed_correction(kept_share: float) -> float:
    """E[Z^2 | |Z| < q] for a standard normal Z, q the quantile that keeps `kept_share`:
    the mean square of the smallest differences underestimates the full one by this."""
    if kept_share >= 1.0:
        return 1.0
    q = statistics.NormalDist().inv_cdf((1 + kept_share) / 2)
    density = math.exp(-q * q / 2) / math.sqrt(2 * math.pi)
    return 1.0 - 2 * q * density / kept_share


def series_noise(values: list[float]) -> float:
    """Standard deviation of one night's value, from a series in time order (absolute units).

    From successive differences (a difference holds two nights' noise, hence / sqrt 2),
    which a level shift affects in one difference only and a slow drift hardly at all;
    the largest 20% are left out and the mean square of the rest is scaled back to what a
    normal series would give (`_trimmed_correction`).
    """
    diffs = sorted(abs(b - a) for a, b in itertools.pairwise(values))
    if not diffs:
        return 0.0
    kept = diffs[:max(1, math.ceil(len(diffs) * (1 - TRIM)))]
    mean_square = statistics.fmean(d * d for d in kept)
    return math.sqrt(mean_square / _trimmed_correction(len(kept) / len(diffs)) / 2)


def effect_gate(noise: float, threshold: Threshold) -> float:
    """The smallest measured change (worse or better) that counts as large."""
    return max(threshold.min_effect - POWER_Z * noise, 0.0)


def minimum_detectable_effect(noise: float, threshold: Threshold) -> float:
    """The smallest true relative change that is flagged with 90% probability.

    A measured change is flagged when >= max(z_threshold * noise, effect_gate); a true
    change c is measured about N(c, noise), so it passes 90% of the time when c is at least
    that bound plus 1.2816 noise: max(min_effect, (z_threshold + 1.2816) noise). The false
    alarm rate it goes with is the z threshold's (one-sided), after confirmation.
    """
    return max(threshold.min_effect, (threshold.z_threshold + POWER_Z) * noise)


def cannot_tell(mde: float, metric: Metric, threshold: Threshold) -> bool:
    """Whether a night whose series sees changes of `mde` or more is too noisy to call an
    unflagged change `unchanged`: its MDE is over INCONCLUSIVE_FACTOR times the best the
    metric allows (the MDE at its noise floor: the minimum effect for speed)."""
    best = minimum_detectable_effect(metric.noise_floor, threshold)
    return mde > INCONCLUSIVE_FACTOR * best


def smallest_flagged_change(noise: float, threshold: Threshold) -> float:
    """The criterion as one number: a measured relative change (either way) is flagged when
    it is at least this large; the band of 'unchanged' around a baseline is +- this."""
    return max(effect_gate(noise, threshold), threshold.z_threshold * noise)


def flagged(worse: float, noise: float, threshold: Threshold, factor: float = 1.0) -> bool:
    """Whether a change `worse` (relative, positive = worse) passes the criterion, or
    `factor` times it (the screening)."""
    return worse >= factor * smallest_flagged_change(noise, threshold)


def relative_noise(metric: Metric, spread: float, baseline: float,
                   tonight_ci_rel: float | None) -> float:
    """The series' spread relative to its baseline, combined with tonight's own interval."""
    interval = (tonight_ci_rel or 0.0) / 1.96 if metric.uses_interval else 0.0
    return max(math.hypot(spread / baseline, interval), metric.noise_floor)


def decide(metric: Metric, threshold: Threshold, tonight: float, baseline_values: list[float],
           *, noise_values: list[float] | None = None, tonight_ci_rel: float | None = None,
           min_history: int = 3, screen_factor: float | None = None) -> Decision:
    """The verdict on one metric of one case.

    `baseline_values` are the last K good nights, newest first; `noise_values` a longer
    stretch of the same series (newest first) to estimate its night-to-night noise from,
    by default the baseline nights themselves. `screen_factor` (e.g. 0.7) also marks a
    change that passes that share of the criterion as `screened`.
    """
    if not baseline_values:
        return Decision(VerdictKind.NEW)
    baseline = statistics.median(baseline_values)
    effect = tonight / baseline - 1.0
    if len(baseline_values) < min_history:
        return Decision(VerdictKind.INSUFFICIENT_HISTORY, baseline, effect)
    spread = series_noise(list(reversed(noise_values or baseline_values)))
    noise = relative_noise(metric, spread, baseline, tonight_ci_rel)
    worse = -effect if metric.higher_is_better else effect
    if flagged(worse, noise, threshold):
        verdict = VerdictKind.REGRESSION
    elif flagged(-worse, noise, threshold):
        verdict = VerdictKind.IMPROVEMENT
    else:
        verdict = VerdictKind.UNCHANGED
    screened = screen_factor is not None and (
        flagged(worse, noise, threshold, screen_factor)
        or flagged(-worse, noise, threshold, screen_factor))
    return Decision(verdict, baseline, effect, noise, worse / noise,
                    minimum_detectable_effect(noise, threshold), screened)
