"""Whether two runs differ on one metric of one case by more than the noise: pure, no I/O.

This answers another question than the nightly's verdict (segtasks.judge.series): not
"is tonight off its series' history" but "do these two nights, picked by a person on the
compare page, differ". There is no history to take a baseline from, so the noise of the
difference holds both nights' noise: each side's relative noise is the one its verdict was
judged with (the series' night-to-night spread combined with that night's own interval),
else that night's own interval (95% interval of the median / 1.96), never below the
metric's floor. The criterion itself is the judge's, the same function
(segtasks.judge.decide.flagged): at least `z_threshold` noise units away and at least the
effect gate, the minimum effect lowered by 1.2816 noise units. With run A as a one-night
history the two agree wherever the noise is the same (tests/test_compare.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from segtasks.domain.metrics import Metric
from segtasks.judge.decide import flagged
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
    """One night's relative noise: the one its verdict used, else its own interval."""
    if judged_noise is not None:
        return max(judged_noise, metric.noise_floor)
    own = (ci_rel or 0.0) / 1.96 if metric.uses_interval else 0.0
    return max(own, metric.noise_floor)


def difference_beyond_noise(metric: Metric, threshold: Threshold, a: float | None,
                            b: float | None, *, noise_a: float | None = None,
                            noise_b: float | None = None, ci_a: float | None = None,
                            ci_b: float | None = None) -> Difference:
    """Run b against run a on one metric (values a and b, each night's noise or interval)."""
    if a is None or b is None or a == 0:
        return Difference(None, None, None, False, None)
    change = b / a - 1.0
    noise = math.hypot(side_noise(metric, noise_a, ci_a), side_noise(metric, noise_b, ci_b))
    worse_by = -change if metric.higher_is_better else change
    beyond = flagged(worse_by, noise, threshold) or flagged(-worse_by, noise, threshold)
    return Difference(change, noise, worse_by / noise, beyond, worse_by > 0)
