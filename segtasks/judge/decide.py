"""The decision on one metric of one series: pure, no I/O.

Method robust-z-v2, per metric and with its direction:
- the baseline is the median of the last K good nights of the series;
- the noise is the series' night-to-night spread (robust, from successive differences),
  combined with tonight's own uncertainty (the 95% interval of its median), and never
  below the metric's floor;
- a change is flagged only when it is both large (relative effect >= min_effect) and
  outside the noise (robust z >= z_threshold).
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass

from segtasks.judge.metrics import Metric
from segtasks.judge.thresholds import Threshold

METHOD = "robust-z-v2"
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Decision:
    verdict: str
    baseline: float | None = None
    effect: float | None = None  # relative change tonight / baseline - 1
    noise: float | None = None  # relative standard deviation used for z
    z: float | None = None  # effect / noise, positive = worse


def night_to_night_spread(values: list[float]) -> float:
    """Robust standard deviation of one night's value, from a series in time order.

    From the median absolute difference of successive nights (divided by sqrt 2, since a
    difference holds two nights' noise): unlike a MAD around the median, an earlier step
    in the series does not inflate it, and it uses a longer window than the baseline.
    """
    if len(values) < 3:
        centre = statistics.median(values)
        return MAD_TO_SIGMA * statistics.median(abs(v - centre) for v in values)
    diffs = [abs(b - a) for a, b in itertools.pairwise(values)]
    return MAD_TO_SIGMA * statistics.median(diffs) / math.sqrt(2)


def decide(metric: Metric, threshold: Threshold, tonight: float, baseline_values: list[float],
           *, noise_values: list[float] | None = None, tonight_ci_rel: float | None = None,
           min_history: int = 3) -> Decision:
    """The verdict on one metric of one case.

    `baseline_values` are the last K good nights, newest first; `noise_values` a longer
    stretch of the same series (newest first) to estimate its night-to-night noise from,
    by default the baseline nights themselves.
    """
    if not baseline_values:
        return Decision("new")
    baseline = statistics.median(baseline_values)
    effect = tonight / baseline - 1.0
    if len(baseline_values) < min_history:
        return Decision("insufficient_history", baseline, effect)
    spread = night_to_night_spread(list(reversed(noise_values or baseline_values)))
    interval = (tonight_ci_rel or 0.0) / 1.96 if metric.uses_interval else 0.0
    noise = max(math.hypot(spread / baseline, interval), metric.noise_floor)
    worse = -effect if metric.higher_is_better else effect
    z = worse / noise
    if worse >= threshold.min_effect and z >= threshold.z_threshold:
        verdict = "regression"
    elif -worse >= threshold.min_effect and -z >= threshold.z_threshold:
        verdict = "improvement"
    else:
        verdict = "unchanged"
    return Decision(verdict, baseline, effect, noise, z)
