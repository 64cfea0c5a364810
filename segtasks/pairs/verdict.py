"""The two verdicts of a paired case, and the night's sentence about them. Pure, no I/O.

- On software, from the paired ratio (segtasks.pairs.stats): a regression when the whole
  interval lies on the worse side of 1 and the point change is at least `min_effect`
  worse; an improvement likewise on the better side; unchanged when the whole interval
  lies within +-min_effect; otherwise inconclusive: these pairs can neither show a change
  that counts nor rule one out (their MDE says how large a change they could see).
- On the machine, from the control's own series across nights, with the judge every
  other series is judged by (segtasks.judge.series.judge_series): the control's lock is
  the same software each night, so a change there is the machine's.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from segtasks.domain.metrics import BY_NAME, Metric
from segtasks.domain.paired import PairedVerdict
from segtasks.domain.verdicts import VerdictKind
from segtasks.judge.series import NightValue, Tonight, judge_series
from segtasks.judge.thresholds import Threshold
from segtasks.pairs.stats import PairedSummary
from segtasks.plan.params import JudgeSettings
from segtasks.pooling import ProcessValue

# the paired metrics the night judges (images_per_s is also a series metric); p50 latency
# has the series metrics' direction and floor of p90
_P50 = Metric("latency_p50_ms", False, "speed", BY_NAME["latency_p90_ms"].noise_floor, True)
PAIRED_METRIC = {"images_per_s": BY_NAME["images_per_s"], "latency_p50_ms": _P50}


def metric_of(name: str) -> Metric:
    return PAIRED_METRIC.get(name) or BY_NAME[name]


def _pct(x: float) -> str:
    return f"{abs(x):.1%}"


def _words(higher_is_better: bool, metric: str) -> tuple[str, str]:
    """How a worse and a better change of the metric read."""
    if metric in PAIRED_METRIC or metric.startswith("latency"):
        return "slower", "faster"
    return ("lower", "higher") if higher_is_better else ("higher", "lower")


def _worse(change: float, higher_is_better: bool) -> float:
    """A relative change as how much worse it is (negative: better)."""
    return -change if higher_is_better else change


def judge_software(summary: PairedSummary, *, min_effect: float, metric: str,
                   higher_is_better: bool) -> tuple[str, str]:
    """(verdict, one-line detail) on tonight's software against the control's."""
    n = summary.n
    if n < 2 or summary.ratio is None or summary.ci_low is None or summary.ci_high is None:
        pairs = f"{n} complete pair" + ("" if n == 1 else "s")
        return VerdictKind.FAILED.value, f"{pairs}: at least 2 are needed for an interval"
    worse_word, better_word = _words(higher_is_better, metric)
    change = summary.ratio - 1.0
    worse = _worse(change, higher_is_better)
    # the interval's bounds as worse-changes: the best case and the worst case
    bounds = sorted(_worse(r - 1.0, higher_is_better) for r in (summary.ci_low,
                                                                summary.ci_high))
    interval = (f"ratio {summary.ratio:.4f}, {summary.confidence:.0%} interval "
                f"{summary.ci_low:.4f} to {summary.ci_high:.4f}, p {summary.p_value:.2g}, "
                f"{n} pairs")
    said = f"{metric} {_pct(change)} {worse_word if worse > 0 else better_word}"
    mde = "" if summary.mde is None else f"; these pairs see {summary.mde:.1%}"
    if bounds[0] > 0 and worse >= min_effect:
        return VerdictKind.REGRESSION.value, f"{said} ({interval})"
    if bounds[1] < 0 and -worse >= min_effect:
        return VerdictKind.IMPROVEMENT.value, f"{said} ({interval})"
    if -min_effect <= bounds[0] and bounds[1] <= min_effect:
        return VerdictKind.UNCHANGED.value, (
            f"{said}, the whole interval within +-{min_effect:.1%} ({interval})")
    # the pairs neither show a change that counts nor rule one out
    return VerdictKind.INCONCLUSIVE.value, (
        f"{said}: the interval neither shows a change of {min_effect:.1%} nor rules one out "
        f"({interval}{mde}); more pairs would tell")


def _night_value(item: Any) -> NightValue:
    if isinstance(item, NightValue):
        return item
    if isinstance(item, tuple):
        return NightValue(int(item[0]), float(item[1]))
    return NightValue(int(item.run_pk), float(item.value))


def judge_machine(control_values_tonight: Sequence[float], earlier_nights: Sequence[Any],
                  threshold: Threshold, settings: JudgeSettings, *,
                  metric: str = "images_per_s", run_pk: int = 0
                  ) -> tuple[str, float | None, str]:
    """(verdict, relative change, detail) on the machine: tonight's control processes
    (pooled: their median, with the spread between them as its interval) against the
    control lock's earlier nights, newest first, as NightValue or (run_pk, value)."""
    values = [v for v in control_values_tonight if v is not None and math.isfinite(v)]
    if not values:
        return VerdictKind.FAILED.value, None, "no control process measured tonight"
    history = [_night_value(n) for n in earlier_nights]
    judged = judge_series(
        metric_of(metric), threshold, settings,
        Tonight(run_pk, statistics.median(values), None,
                firsts=[ProcessValue(v, None) for v in values]),
        history, inconclusive=True)  # a noisy control series cannot say "unchanged"
    decision = judged.decision
    nights = len(judged.baseline_values)
    detail = (f"{len(values)} control process{'es' if len(values) != 1 else ''} tonight "
              f"against {nights} earlier night{'s' if nights != 1 else ''} of the control's "
              "lock")
    if decision.effect is not None:
        detail += f": {decision.effect:+.1%}"
    if decision.mde is not None:
        detail += f" (this series sees changes of {decision.mde:.1%} or more)"
    if (step := judged.step) is not None:
        detail += (f"; a step of {step.effect:+.1%} over the last {step.nights_after} "
                   "nights")
    return str(judged.verdict), decision.effect, detail




def night_line(v: PairedVerdict) -> str:
    """The night's sentence on a paired case, e.g. 'software: 6.1% slower than the
    control's on this machine tonight (5 pairs, +-1.1%); machine: unchanged; packages
    changed: torch 2.14.0 -> 2.14.1' (one wording, shared with the report, pages, alerts)."""
    from segtasks.report.paired import paired_line

    return paired_line(v)
