"""Judge a run against earlier nights of the same series and store the verdicts.

Method robust-z-v2, per metric and with its direction:
- the baseline is the median of the last K good nights of the series (case x hardware key),
  leaving out runs marked as excluded;
- the noise is the baseline nights' spread (1.4826 x MAD, relative), combined with
  tonight's own uncertainty (the 95% interval of its median), and never below a floor;
- a change is flagged only when it is both large (relative effect >= min_effect) and
  outside the noise (robust z >= z_threshold);
- a case that used to work and now fails is a regression whatever the numbers; a series
  that was measured last run and is absent tonight is `missing`.
A Mann-Whitney rank test of tonight's batch latencies against the last baseline night's
is stored beside a flagged speed change as extra evidence, not as a gate.
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from segtasks.store import repository

log = logging.getLogger(__name__)

METHOD = "robust-z-v2"
VERDICTS = ("regression", "improvement", "unchanged", "insufficient_history", "new",
            "missing", "failed")
MAD_TO_SIGMA = 1.4826
NOISE_NIGHTS = 30  # how far back the night-to-night noise is estimated
# environment columns whose change is worth naming next to a verdict
SOFTWARE = (("torch", "torch_version"), ("torchvision", "torchvision_version"),
            ("smp", "smp_version"), ("numpy", "numpy_version"), ("cuda", "cuda_runtime"),
            ("cudnn", "cudnn"), ("driver", "nvidia_driver"), ("python", "python_version"))


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    min_effect: float
    z_threshold: float
    noise_floor: float  # relative: below this, spread is treated as measurement resolution
    uses_interval: bool  # whether tonight's median interval applies to this metric

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"


SPEED_Z = 3.0
METRICS = (
    Metric("images_per_s", True, 0.05, SPEED_Z, 0.005, True),
    Metric("latency_p90_ms", False, 0.05, SPEED_Z, 0.005, True),
    # nearly deterministic: a tight band, so that a few percent more memory is seen
    Metric("cuda_peak_reserved_bytes", False, 0.02, SPEED_Z, 0.002, False),
    Metric("host_peak_rss_bytes", False, 0.05, SPEED_Z, 0.01, False),
)
METRIC_NAMES = tuple(m.name for m in METRICS)


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


def decide(metric: Metric, tonight: float, baseline_values: list[float], *,
           noise_values: list[float] | None = None, tonight_ci_rel: float | None = None,
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
    if worse >= metric.min_effect and z >= metric.z_threshold:
        verdict = "regression"
    elif -worse >= metric.min_effect and -z >= metric.z_threshold:
        verdict = "improvement"
    else:
        verdict = "unchanged"
    return Decision(verdict, baseline, effect, noise, z)


@dataclass(frozen=True)
class Verdict:
    case_key: str
    hardware_key: str | None
    metric: str
    verdict: str
    threshold: float
    direction: str | None = None
    tonight: float | None = None
    baseline: float | None = None
    relative_change: float | None = None
    noise: float | None = None
    z: float | None = None
    z_threshold: float | None = None
    rank_p: float | None = None
    baseline_run_pks: list[int] = field(default_factory=list)
    baseline_values: list[float] | None = None
    software_changes: list[str] | None = None
    detail: str | None = None
    method: str = METHOD


def metrics_for(case_key: str, overrides: dict[str, Any] | None) -> tuple[Metric, ...]:
    """The metrics with this series' own thresholds, where the run's params override them.

    `overrides` maps a case key to {metric: {"min_effect": x, "z_threshold": y}}.
    """
    own = (overrides or {}).get(case_key) or {}
    unknown = set(own) - set(METRIC_NAMES)
    if unknown:
        raise ValueError(f"series_thresholds for {case_key}: unknown metrics "
                         f"{sorted(unknown)}; expected some of {', '.join(METRIC_NAMES)}")
    metrics = []
    for metric in METRICS:
        change = own.get(metric.name) or {}
        bad = set(change) - {"min_effect", "z_threshold"}
        if bad:
            raise ValueError(f"series_thresholds for {case_key}.{metric.name}: unknown keys "
                             f"{sorted(bad)}; expected min_effect and/or z_threshold")
        metrics.append(replace(metric, **change))
    return tuple(metrics)


def software_changes(tonight: Any, tonight_code: str | None, before: repository.Night
                     ) -> list[str]:
    """What differs between tonight's software and the last baseline night's."""
    changes = []
    if tonight_code != before.code_version:
        changes.append(f"code {before.code_version} -> {tonight_code}")
    old, new = before.result.environment, tonight.environment
    if old is not None and new is not None:
        for label, column in SOFTWARE:
            a, b = getattr(old, column), getattr(new, column)
            if a != b:
                changes.append(f"{label} {a} -> {b}")
    return changes


def _rank_p(engine: Engine, tonight_id: int, before_id: int) -> float | None:
    from scipy.stats import mannwhitneyu

    a, b = repository.samples_of(engine, tonight_id), repository.samples_of(engine, before_id)
    if len(a) < 3 or len(b) < 3:
        return None
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def judge(engine: Engine, run_pk: int, *, k: int = 7, min_history: int = 3,
          overrides: dict[str, Any] | None = None,
          defaults: dict[str, dict[str, float]] | None = None) -> list[Verdict]:
    """Verdicts for every case of the run (and every series it lost), stored and returned.

    `defaults` changes the thresholds of every series for this run ({metric: {...}});
    `overrides` then changes them per series ({case_key: {metric: {...}}}).
    """
    if not 1 <= min_history <= k:
        raise ValueError(f"need 1 <= min_history <= k, got k={k}, min_history={min_history}")
    run = repository.get_run(engine, run_pk)
    results = repository.run_results(engine, run_pk)
    verdicts: list[Verdict] = []
    for result in results:
        if result.status == "skipped":
            log.info("not judged: %s was skipped (%s)", result.case_key, result.reason)
            continue
        longer = repository.history(engine, case_key=result.case_key,
                                    hardware_key=result.hardware_key, before_run_pk=run_pk,
                                    limit=max(k, NOISE_NIGHTS))
        past = longer[:k]
        common: dict[str, Any] = {"case_key": result.case_key, "hardware_key": result.hardware_key,
                  "baseline_run_pks": [night.run_pk for night in past]}
        changes = software_changes(result, run.code_version, past[0]) if past else None
        if result.status != "ok":
            # A case that used to work and now fails is the loudest regression there is.
            verdicts.append(Verdict(
                metric="status", verdict="regression" if past else "failed", threshold=0.0,
                software_changes=changes, detail=f"status {result.status}: {result.reason}",
                **common))
            continue
        for metric in _with_defaults(metrics_for(result.case_key, overrides), defaults):
            value = getattr(result, metric.name)
            if value is None:
                continue
            values = _values(past, metric.name)
            decision = decide(metric, value, values, noise_values=_values(longer, metric.name),
                              tonight_ci_rel=result.ci_rel, min_history=min_history)
            rank_p = None
            if decision.verdict in ("regression", "improvement") and metric.uses_interval:
                rank_p = _rank_p(engine, result.id, past[0].result.id)
            verdicts.append(Verdict(
                metric=metric.name, direction=metric.direction, verdict=decision.verdict,
                threshold=metric.min_effect, z_threshold=metric.z_threshold, tonight=value,
                baseline=decision.baseline, relative_change=decision.effect,
                noise=decision.noise, z=decision.z, rank_p=rank_p, baseline_values=values,
                software_changes=changes, detail=f"{len(values)} baseline nights", **common))
    verdicts += _missing(engine, run_pk, results)
    repository.save_comparisons(engine, run_pk, (asdict(v) for v in verdicts))
    return verdicts


def _values(nights: list[repository.Night], metric: str) -> list[float]:
    values = (getattr(night.result, metric) for night in nights)
    return [v for v in values if v is not None]


def _with_defaults(metrics: tuple[Metric, ...], defaults: dict[str, dict[str, Any]] | None
                   ) -> tuple[Metric, ...]:
    if not defaults:
        return metrics
    return tuple(replace(m, **defaults.get(m.name, {})) for m in metrics)


def _missing(engine: Engine, run_pk: int, results: list[Any]) -> list[Verdict]:
    """Series the previous run measured (ok) that tonight did not measure at all."""
    previous = repository.previous_run(engine, run_pk)
    if previous is None:
        return []
    measured = {(r.case_key, r.hardware_key) for r in results if r.status != "skipped"}
    return [
        Verdict(case_key=r.case_key, hardware_key=r.hardware_key, metric="status",
                verdict="missing", threshold=0.0, baseline_run_pks=[previous.id],
                detail=f"measured by run {previous.run_id}, absent tonight")
        for r in repository.run_results(engine, previous.id)
        if r.status == "ok" and (r.case_key, r.hardware_key) not in measured
    ]
