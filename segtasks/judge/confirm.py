"""Same-night confirmation: a screened change is measured again before it is believed.

A night's first measurement of a case is one process at one moment: a passing disturbance
the validity checks did not see, or an unlucky process (memory layout, kernel choice), can
move it by more than the series' noise. A change that passes the screening criterion
(`screen_factor` x the alert criterion, segtasks.judge.decide) is measured again tonight in
`confirm_repeats` fresh processes; the first and the confirming processes are pooled
(segtasks.pooling: median, with the wider of the within- and between-process intervals)
and judged again with the same thresholds. Only a change the pooled value still shows is
a `regression` or an `improvement`; a flagged change that does not hold is `unconfirmed`,
stored with both measurements. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from segtasks.domain.metrics import Metric
from segtasks.domain.verdicts import CHANGES, VerdictKind
from segtasks.judge.decide import Decision, decide
from segtasks.judge.thresholds import Threshold
from segtasks.pooling import Pooled


@dataclass(frozen=True)
class Confirmed:
    decision: Decision  # the final decision (on the pooled value when confirmed)
    confirmed: bool | None  # None: not re-measured (not screened, or no confirmation ran)


def confirm(metric: Metric, threshold: Threshold, first: Decision, pooled: Pooled | None,
            baseline_values: list[float], *, noise_values: list[float] | None = None,
            min_history: int = 3) -> Confirmed:
    """The final decision on a case after its confirming processes were pooled.

    `first` is the decision on the first measurement; `pooled` the first and confirming
    processes pooled, or None when the case was not measured again.
    """
    if pooled is None:
        return Confirmed(first, None)
    again = decide(metric, threshold, pooled.value, baseline_values, noise_values=noise_values,
                   tonight_ci_rel=pooled.ci_rel, min_history=min_history)
    if again.verdict in CHANGES:
        return Confirmed(again, True)
    verdict = VerdictKind.UNCONFIRMED if first.verdict in CHANGES else again.verdict
    return Confirmed(Decision(verdict, again.baseline, again.effect, again.noise, again.z,
                              again.mde, first.screened), False)
