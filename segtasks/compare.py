"""Judge a run against earlier nights of the same series and store the verdicts.

First method (median-ratio-v1): tonight's throughput against the median of the
last K good nights; a change is flagged when it exceeds a relative threshold.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import asdict, dataclass, field

from sqlalchemy import Engine

from segtasks.store import repository

log = logging.getLogger(__name__)

METHOD = "median-ratio-v1"
METRIC = "images_per_s"
VERDICTS = ("regression", "improvement", "unchanged", "insufficient_history", "new", "failed")


@dataclass(frozen=True)
class Verdict:
    case_key: str
    hardware_key: str | None
    verdict: str
    tonight: float | None
    baseline: float | None
    relative_change: float | None
    threshold: float
    baseline_run_pks: list[int] = field(default_factory=list)
    detail: str | None = None
    metric: str = METRIC
    method: str = METHOD


def decide(
    tonight: float, baseline_values: list[float], threshold: float, min_history: int
) -> tuple[str, float | None, float | None]:
    """(verdict, baseline, relative change) for a higher-is-better metric."""
    if not baseline_values:
        return "new", None, None
    baseline = statistics.median(baseline_values)
    change = tonight / baseline - 1.0
    if len(baseline_values) < min_history:
        return "insufficient_history", baseline, change
    if change < -threshold:
        return "regression", baseline, change
    if change > threshold:
        return "improvement", baseline, change
    return "unchanged", baseline, change


def judge(
    engine: Engine, run_pk: int, *, k: int = 7, min_history: int = 3, threshold: float = 0.10
) -> list[Verdict]:
    """Verdicts for every measured case of the run, stored in `comparisons` and returned."""
    if k < min_history or min_history < 1 or not 0 < threshold < 1:
        raise ValueError(f"need 1 <= min_history <= k and 0 < threshold < 1, "
                         f"got k={k}, min_history={min_history}, threshold={threshold}")
    verdicts = []
    for result in repository.run_results(engine, run_pk):
        if result.status == "skipped":
            log.info("not judged: %s was skipped (%s)", result.case_key, result.reason)
            continue
        past = repository.history(engine, case_key=result.case_key,
                                  hardware_key=result.hardware_key,
                                  before_run_pk=run_pk, limit=k)
        values = [p.images_per_s for p in past]
        common = {"case_key": result.case_key, "hardware_key": result.hardware_key,
                  "threshold": threshold, "baseline_run_pks": [p.run_pk for p in past]}
        if result.status != "ok":
            # A case that used to work and now fails is the loudest regression there is.
            verdicts.append(Verdict(
                verdict="regression" if past else "failed", tonight=None,
                baseline=statistics.median(values) if values else None, relative_change=None,
                detail=f"status {result.status}: {result.reason}", **common))
            continue
        assert result.images_per_s is not None, "an ok result always has a throughput"
        verdict, baseline, change = decide(result.images_per_s, values, threshold, min_history)
        verdicts.append(Verdict(verdict=verdict, tonight=result.images_per_s, baseline=baseline,
                                relative_change=change,
                                detail=f"{len(values)} baseline nights", **common))
    repository.save_comparisons(engine, run_pk, (asdict(v) for v in verdicts))
    return verdicts
