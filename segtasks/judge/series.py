"""The verdict on one metric of one series: the detector, pure, over plain values.

`judge_series` is the one rule the nightly, the benchmarks (benchmarks/detector_rules.py)
and, through the stored verdicts, the alerts and the UI all rely on. It takes the series
as plain values: tonight's first measurement with its interval, tonight's measuring
processes (value, interval, disturbed), and the earlier good nights, newest first.

1. Tonight's value: the case's first measurement, or, when the night ran several
   processes per case (`repeats`), their pooled value (segtasks.pooling).
2. The decision against the series' history (segtasks.judge.decide), with the screening
   mark.
3. When the case was screened and measured again tonight, the first and confirming
   processes pooled and judged again (segtasks.judge.confirm): only a confirmed change is
   a regression or an improvement, one that does not hold is `unconfirmed`. A screened case
   that was not measured again (confirmation off, or its budget spent) keeps its first
   verdict, and says why.
4. When no change is confirmed tonight, the test that pools the nights since a suspected
   change (segtasks.judge.steps) may still find one, and names the night it began.
5. With `inconclusive` (the nightly's comparisons, the detector evaluation), a change
   still `unchanged` on a night whose series sees only changes far above the minimum
   effect (segtasks.judge.decide.cannot_tell) is `inconclusive`: the night could not
   tell. The paired night's verdict on the machine asks too (segtasks.pairs.verdict).
6. A regression is `alerted` only when the series' previous verdict was not a regression
   too (segtasks.domain.verdicts.alerted_on): an ongoing regression is reported every
   night but alerted once.

`judge_metric` turns the store's values (segtasks.domain.records) into these plain values
and the outcome into a stored `Verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from segtasks.domain.metrics import PROCESS_METRICS, Metric
from segtasks.domain.records import Night, Process
from segtasks.domain.verdicts import CHANGES, Verdict, VerdictKind, alerted_on
from segtasks.judge.confirm import confirm
from segtasks.judge.decide import Decision, cannot_tell, decide
from segtasks.judge.steps import Step, find_step
from segtasks.judge.thresholds import Threshold
from segtasks.plan.params import JudgeSettings
from segtasks.pooling import Pooled, ProcessValue, pool

# How far back the night-to-night noise is estimated (and a trend is drawn).
NOISE_NIGHTS = 30
# nights the step test looks at: up to 7 since the split and 28 before it (the nightly
# loads NOISE_NIGHTS of history, the benchmarks more)
STEP_WINDOW = 35


@dataclass(frozen=True)
class NightValue:
    """One earlier good night of a series: its run and its value."""

    run_pk: int
    value: float


@dataclass(frozen=True)
class Tonight:
    """Tonight's measurements of one metric of one case."""

    run_pk: int
    value: float  # the first measurement
    ci_rel: float | None  # its 95% interval, relative half-width
    firsts: Sequence[ProcessValue] = ()  # the night's first processes (`repeats`)
    confirming: Sequence[ProcessValue] = ()  # processes that re-measured a screened change


@dataclass(frozen=True)
class SeriesJudgement:
    verdict: VerdictKind
    first: Decision  # on the first measurement (its `screened` asks for a confirmation)
    decision: Decision  # the final decision (on the pooled value when confirmed)
    confirmed: bool | None  # None: not measured again
    value: float  # the value judged: pooled when confirmed
    baseline_values: list[float]  # the baseline nights' values, newest first
    step: Step | None = None  # the step across nights that made the verdict, if one did
    began_run_pk: int | None = None  # the night the change began
    alerted: bool | None = None

    @property
    def screened(self) -> bool:
        return self.first.screened


def judge_series(metric: Metric, threshold: Threshold, settings: JudgeSettings,
                 tonight: Tonight, history: Sequence[NightValue], *,
                 previous: str | None = None, inconclusive: bool = False) -> SeriesJudgement:
    """Tonight against the series' earlier good nights (newest first); `previous` is the
    series' verdict on this metric the night before (whether a regression is new);
    `inconclusive`: say so of an unflagged change the night could not see (step 5)."""
    past = [n.value for n in history[:settings.baseline_runs]]
    noise_values = [n.value for n in history[:NOISE_NIGHTS]]
    value, ci_rel = tonight.value, tonight.ci_rel
    if len(tonight.firsts) > 1 and (pooled_first := pool(list(tonight.firsts))) is not None:
        value, ci_rel = pooled_first.value, pooled_first.ci_rel
    first = decide(metric, threshold, value, past, noise_values=noise_values,
                   tonight_ci_rel=ci_rel, min_history=settings.min_history,
                   screen_factor=settings.screen_factor if metric.uses_interval else None)
    pooled: Pooled | None = None
    if first.screened and tonight.confirming:
        pooled = pool([*tonight.firsts, *tonight.confirming])
    outcome = confirm(metric, threshold, first, pooled, past, noise_values=noise_values,
                      min_history=settings.min_history)
    decision, final_value = outcome.decision, pooled.value if pooled else value
    verdict, began, step = decision.verdict, None, None
    if decision.verdict in CHANGES:
        began = tonight.run_pk
    elif decision.verdict in (VerdictKind.UNCHANGED, VerdictKind.UNCONFIRMED) \
            and len(history) >= 3:
        window = [*reversed(history[:STEP_WINDOW - 1]), NightValue(tonight.run_pk, final_value)]
        step = find_step([n.value for n in window], higher_is_better=metric.higher_is_better,
                         threshold=threshold, step_z_threshold=settings.step_z_threshold)
        if step is not None:
            verdict = VerdictKind.REGRESSION if step.z > 0 else VerdictKind.IMPROVEMENT
            began = window[step.began].run_pk
    if inconclusive and verdict == VerdictKind.UNCHANGED and decision.mde is not None \
            and cannot_tell(decision.mde, metric, threshold):
        verdict = VerdictKind.INCONCLUSIVE
    return SeriesJudgement(verdict, first, decision, outcome.confirmed, final_value,
                           past, step, began, alerted_on(verdict, previous))


def night_value(night: Night, metric: Metric) -> float | None:
    """A night's value: its processes pooled when it measured several (a confirmed night,
    or `repeats`), so that a one-off slow first process does not stay in the history;
    else its one measurement."""
    if metric.name in PROCESS_METRICS and len(night.processes) > 1:
        pooled = pool(process_values(night.processes, metric))
        if pooled is not None:
            return pooled.value
    value: float | None = getattr(night.result, metric.name)
    return value


def series_values(nights: Sequence[Night], metric: Metric) -> list[NightValue]:
    """The nights that have the metric, newest first, as plain values."""
    values = ((night.run_pk, night_value(night, metric)) for night in nights)
    return [NightValue(run_pk, v) for run_pk, v in values if v is not None]


def process_values(processes: Sequence[Process], metric: Metric) -> list[ProcessValue]:
    """The measured processes' figures of one metric (failed processes have none)."""
    return [ProcessValue(getattr(p, metric.name), p.ci_rel, bool(p.disturbed))
            for p in processes
            if p.status == "ok" and getattr(p, metric.name, None) is not None]


def judge_metric(metric: Metric, threshold: Threshold, settings: JudgeSettings,
                 value: float, ci_rel: float | None, nights: Sequence[Night],
                 processes: Sequence[Process], *, last: str | None, tonight_run_pk: int,
                 common: dict[str, Any]) -> Verdict:
    """`nights`: the series' good nights, newest first; `processes`: tonight's measuring
    processes of the case; `last`: the series' previous verdict on this metric; `common`:
    case, hardware and baseline runs of the verdict."""
    if metric.name not in PROCESS_METRICS:
        processes = []
    firsts = process_values([p for p in processes if p.role == "first"], metric)
    confirming = [p for p in processes if p.role == "confirm"]
    judged = judge_series(metric, threshold, settings,
                          Tonight(tonight_run_pk, value, ci_rel, firsts,
                                  process_values(confirming, metric)),
                          series_values(nights, metric), previous=last, inconclusive=True)
    decision = judged.decision
    detail = f"{len(judged.baseline_values)} baseline nights"
    if judged.screened and judged.confirmed is None and metric.uses_interval:
        detail += ("; not measured again (confirmation is off)" if not settings.confirm_repeats
                   else "; screened but not measured again (confirmation budget spent)")
    elif judged.confirmed is not None:
        detail += (f"; {'confirmed' if judged.confirmed else 'not confirmed'} by "
                   f"{len(confirming)} more process{'es' if len(confirming) > 1 else ''}")
    if judged.verdict == VerdictKind.INCONCLUSIVE and decision.mde is not None:
        detail += (f"; inconclusive: this night cannot see changes under {decision.mde:.1%} "
                   f"(minimum effect {threshold.min_effect:.1%})")
    if (step := judged.step) is not None:
        detail += (f"; a step of {step.effect:+.1%} over the last {step.nights_after} "
                   f"nights (z {step.z:.1f} >= {settings.step_z_threshold:g})")
    return Verdict(
        metric=metric.name, direction=metric.direction, verdict=judged.verdict,
        min_effect=threshold.min_effect, z_threshold=threshold.z_threshold,
        tonight=judged.value, baseline=decision.baseline, relative_change=decision.effect,
        noise=decision.noise, z=decision.z, baseline_values=judged.baseline_values,
        detail=detail, mde=decision.mde,
        screened=judged.screened if metric.uses_interval else None,
        confirmed=judged.confirmed, first_value=value,
        process_values=[getattr(p, metric.name) for p in processes
                        if getattr(p, metric.name, None) is not None] or None,
        began_run_pk=judged.began_run_pk, alerted=judged.alerted, **common)
