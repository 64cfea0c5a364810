"""Whether two runs differ on one metric of one case by more than the noise: pure, no I/O.

Two single nights are compared, so the noise of their difference holds both nights'
noise: each side's relative noise is the one its verdict was judged with (the series'
night-to-night spread combined with that night's own interval), else that night's own
interval (95% interval of the median / 1.96), never below the metric's floor. The
difference is beyond the noise when it is both as large as the threshold's minimum effect
and that many noise units away (robust z), the judge's own rule (segtasks.judge.decide).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from segtasks.judge.metrics import Metric
from segtasks.judge.thresholds import Threshold


@dataclass(frozen=True)
class Difference:
    change: float | None  # b / a - 1
    noise: float | None  # relative standard deviation of the difference
    z: float | None  # change / noise, positive = worse
    beyond_noise: bool
    worse: bool | None  # None when there is nothing to compare

    @property
    def word(self) -> str:
        if self.change is None:
            return "n/a"
        if not self.beyond_noise:
            return "within noise"
        return "worse" if self.worse else "better"


def side_noise(metric: Metric, judged_noise: float | None, ci_rel: float | None) -> float:
    if judged_noise is not None:
        return max(judged_noise, metric.noise_floor)
    own = (ci_rel or 0.0) / 1.96 if metric.uses_interval else 0.0
    return max(own, metric.noise_floor)


def difference(metric: Metric, threshold: Threshold, a: float | None, b: float | None, *,
               noise_a: float | None = None, noise_b: float | None = None,
               ci_a: float | None = None, ci_b: float | None = None) -> Difference:
    if a is None or b is None or a == 0:
        return Difference(None, None, None, False, None)
    change = b / a - 1.0
    noise = math.hypot(side_noise(metric, noise_a, ci_a), side_noise(metric, noise_b, ci_b))
    worse_by = -change if metric.higher_is_better else change
    z = worse_by / noise
    beyond = abs(change) >= threshold.min_effect and abs(z) >= threshold.z_threshold
    return Difference(change, noise, z, beyond, worse_by > 0)
