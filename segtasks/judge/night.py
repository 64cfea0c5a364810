"""Verdicts for every case of a night (and every series it lost), from loaded evidence.

A case that used to work and now fails is a regression whatever the numbers; a series
the previous run measured and tonight did not is `missing`; a case the machine did not
leave alone while it was timed (not valid, even after a second attempt) is `disturbed`,
with its cause, and is not compared at all: its figures say more about the machine than
about the code. Disturbed nights are not in any baseline or noise estimate either
(segtasks.store.repository.series_history). A Mann-Whitney rank test of
tonight's batch latencies against the last baseline night's is stored beside a flagged
speed change as extra evidence, not as a gate. Each metric of a measured case is judged by
segtasks.judge.series (first measurement, confirmation, the step test across nights).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from segtasks.domain.metrics import METRICS
from segtasks.domain.records import Result
from segtasks.domain.verdicts import CHANGES, VerdictKind
from segtasks.judge.evidence import Evidence
from segtasks.judge.series import judge_metric
from segtasks.judge.software import software_changes
from segtasks.judge.thresholds import night_thresholds
from segtasks.judge.verdict import Verdict
from segtasks.plan.params import JudgeSettings

log = logging.getLogger(__name__)


def judge_night(evidence: Evidence, settings: JudgeSettings,
                samples_of: Callable[[int], list[float]]) -> list[Verdict]:
    """`samples_of(result_id)` gives a stored result's batch latencies (for the rank test)."""
    thresholds = night_thresholds(settings)
    k, run = settings.baseline_runs, evidence.run
    verdicts: list[Verdict] = []
    for result in evidence.results:
        if result.status == "skipped":
            log.info("not judged: %s was skipped (%s)", result.case_key, result.reason)
            continue
        longer = evidence.nights(result)
        past = longer[:k]
        common: dict[str, Any] = {"case_key": result.case_key,
                                  "hardware_key": result.hardware_key,
                                  "baseline_run_pks": [night.run_pk for night in past]}
        changes = software_changes(run.code_version, result.environment,
                                   past[0].code_version, past[0].result.environment
                                   ) if past else None
        if result.status != "ok":
            # A case that used to work and now fails is the loudest regression there is.
            verdicts.append(Verdict(
                metric="status",
                verdict=VerdictKind.REGRESSION if past else VerdictKind.FAILED,
                software_changes=changes, detail=f"status {result.status}: {result.reason}",
                **common))
            continue
        if result.valid is False:
            verdicts.append(Verdict(metric="status", verdict=VerdictKind.DISTURBED,
                                    software_changes=changes, detail=_disturbed(result),
                                    **common))
            continue
        processes = evidence.processes_of(result)
        for metric in METRICS:
            value = getattr(result, metric.name)
            if value is None:
                continue
            threshold = thresholds.of(result.case_key, metric.name)
            judged = judge_metric(metric, threshold, settings, value, result.ci_rel, longer,
                                  processes, last=evidence.last_verdict(result, metric.name),
                                  tonight_run_pk=run.id,
                                  common={**common, "software_changes": changes})
            rank_p = None
            if judged.verdict in CHANGES and metric.uses_interval:
                rank_p = _rank_p([s.latency_ms for s in result.samples],
                                 samples_of(past[0].result.id))
            verdicts.append(replace(judged, rank_p=rank_p))
    return verdicts + _missing(evidence)


def _disturbed(result: Result) -> str:
    tries = result.attempts or 1
    again = " (measured twice, disturbed both times)" if tries > 1 else ""
    return f"not compared: {result.validity_reason or 'disturbed'}{again}"


def _rank_p(tonight: list[float], before: list[float]) -> float | None:
    from scipy.stats import mannwhitneyu

    if len(tonight) < 3 or len(before) < 3:
        return None
    return float(mannwhitneyu(tonight, before, alternative="two-sided").pvalue)


def _missing(evidence: Evidence) -> list[Verdict]:
    """Series the previous run measured (ok) that tonight did not measure at all."""
    if evidence.previous_run is None:
        return []
    measured = {(r.case_key, r.hardware_key) for r in evidence.results if r.status != "skipped"}
    return [
        Verdict(case_key=r.case_key, hardware_key=r.hardware_key, metric="status",
                verdict=VerdictKind.MISSING, baseline_run_pks=[evidence.previous_run.id],
                detail=f"measured by run {evidence.previous_run.run_id}, absent tonight")
        for r in evidence.previous_results
        if r.status == "ok" and (r.case_key, r.hardware_key) not in measured
    ]
