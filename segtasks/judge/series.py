"""The verdict on one metric of one measured case: pure, no I/O.

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
5. A regression is `alerted` only when the series' previous verdict was not a regression
   too: an ongoing regression is reported every night but alerted once.
"""

from __future__ import annotations

from typing import Any

from segtasks.judge.confirm import CHANGES, confirm
from segtasks.judge.decide import decide
from segtasks.judge.metrics import Metric
from segtasks.judge.steps import find_step
from segtasks.judge.thresholds import Threshold
from segtasks.judge.verdict import Verdict
from segtasks.plan.params import JudgeSettings
from segtasks.pooling import Pooled, ProcessValue, pool
from segtasks.store.repository import Night

# the metrics each measuring process stores (segtasks.store.schema.Process)
PROCESS_METRICS = ("images_per_s", "latency_p90_ms")
# nights the step test looks at: up to 7 since the split and 28 before it (the history
# loaded holds 30: segtasks.judge.evidence.NOISE_NIGHTS)
STEP_WINDOW = 35


def _night_value(night: Night, metric: Metric) -> float | None:
    """A night's value: its processes pooled when it measured several (a confirmed night,
    or `repeats`), so that a one-off slow first process does not stay in the history;
    else its one measurement."""
    if metric.name in PROCESS_METRICS and len(night.processes) > 1:
        pooled = _pooled(metric, night.processes)
        if pooled is not None:
            return pooled.value
    return getattr(night.result, metric.name)


def _values(nights: list[Night], metric: Metric) -> list[tuple[int, float]]:
    """(run id, value) of the nights that have the metric, newest first."""
    values = ((night.run_pk, _night_value(night, metric)) for night in nights)
    return [(run_pk, v) for run_pk, v in values if v is not None]


def _pooled(metric: Metric, processes: list[Any]) -> Pooled | None:
    measured = [ProcessValue(getattr(p, metric.name), p.ci_rel, bool(p.disturbed))
                for p in processes
                if p.status == "ok" and getattr(p, metric.name, None) is not None]
    return pool(measured)


def judge_metric(metric: Metric, threshold: Threshold, settings: JudgeSettings,
                 value: float, ci_rel: float | None, nights: list[Night], processes: list[Any],
                 *, last: str | None, tonight_run_pk: int, common: dict[str, Any]) -> Verdict:
    """`nights`: the series' good nights, newest first; `processes`: tonight's measuring
    processes of the case (rows with role, status, figures); `last`: the series' previous
    verdict on this metric; `common`: case, hardware and baseline runs of the verdict."""
    history = _values(nights, metric)
    past = [v for _, v in history[:settings.baseline_runs]]
    noise_values = [v for _, v in history]
    if metric.name not in PROCESS_METRICS:
        processes = []
    firsts = [p for p in processes if p.role == "first"]
    confirming = [p for p in processes if p.role == "confirm"]
    first_value, tonight, tonight_ci = value, value, ci_rel
    if len(firsts) > 1 and (pooled_first := _pooled(metric, firsts)) is not None:
        tonight, tonight_ci = pooled_first.value, pooled_first.ci_rel
    first = decide(metric, threshold, tonight, past, noise_values=noise_values,
                   tonight_ci_rel=tonight_ci, min_history=settings.min_history,
                   screen_factor=settings.screen_factor if metric.uses_interval else None)
    pooled = _pooled(metric, processes) if first.screened and confirming else None
    outcome = confirm(metric, threshold, first, pooled, past, noise_values=noise_values,
                      min_history=settings.min_history)
    decision, final_value = outcome.decision, pooled.value if pooled else tonight
    detail = f"{len(past)} baseline nights"
    if first.screened and outcome.confirmed is None and metric.uses_interval:
        detail += ("; not measured again (confirmation is off)" if not settings.confirm_repeats
                   else "; screened but not measured again (confirmation budget spent)")
    elif outcome.confirmed is not None:
        detail += (f"; {'confirmed' if outcome.confirmed else 'not confirmed'} by "
                   f"{len(confirming)} more process{'es' if len(confirming) > 1 else ''}")
    verdict, began = decision.verdict, None
    if decision.verdict in CHANGES:
        began = tonight_run_pk
    elif decision.verdict in ("unchanged", "unconfirmed") and len(history) >= 3:
        window = [*reversed(history[:STEP_WINDOW - 1]), (tonight_run_pk, final_value)]
        step = find_step([v for _, v in window], higher_is_better=metric.higher_is_better,
                         threshold=threshold, step_z_threshold=settings.step_z_threshold)
        if step is not None:
            verdict = "regression" if step.z > 0 else "improvement"
            began = window[step.began][0]
            detail += (f"; a step of {step.effect:+.1%} over the last {step.nights_after} "
                       f"nights (z {step.z:.1f} >= {settings.step_z_threshold:g})")
    return Verdict(
        metric=metric.name, direction=metric.direction, verdict=verdict,
        min_effect=threshold.min_effect, z_threshold=threshold.z_threshold,
        tonight=final_value, baseline=decision.baseline, relative_change=decision.effect,
        noise=decision.noise, z=decision.z, baseline_values=past, detail=detail,
        mde=decision.mde, screened=first.screened if metric.uses_interval else None,
        confirmed=outcome.confirmed, first_value=first_value,
        process_values=[getattr(p, metric.name) for p in processes
                        if getattr(p, metric.name, None) is not None] or None,
        began_run_pk=began,
        alerted=(last != "regression") if verdict == "regression" else None, **common)
