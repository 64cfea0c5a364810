"""The paired verdicts of a night, made at close from the pairs stored: on software (the
paired ratio, treatment over control, against the series' minimum effect) and on the
machine (tonight's control processes against the control lock's earlier nights), with the
packages that differ between the two locks. Stored in `paired_verdicts`; each case's
sentence goes to the run's notes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from segtasks.domain.paired import PairedVerdict, PairMode, PairSide, Side
from segtasks.domain.records import Result
from segtasks.domain.verdicts import VerdictKind
from segtasks.errors import SegbenchError
from segtasks.judge.thresholds import night_thresholds
from segtasks.paired_night.environments import series_key
from segtasks.plan import NightParams
from segtasks.store.repository import RunAddress, pk_of

log = logging.getLogger(__name__)

# Judged on every paired case, in this order; the first is the one the notes tell.
PAIRED_METRICS = ("images_per_s", "latency_p50_ms")


def _packages(engine: Engine, control: str, treatment: str) -> tuple[str, ...]:
    from segtasks.envs.diff import package_changes
    from segtasks.store.locks import get_lock

    try:
        return tuple(package_changes(get_lock(engine, control), get_lock(engine, treatment)))
    except SegbenchError as exc:  # a lock no longer stored: the verdict stands without it
        log.warning("packages changed between %s and %s unknown: %s", control[:12],
                    treatment[:12], exc)
        return ()


def spent_s(sides: Sequence[PairSide]) -> float:
    """Machine time the pairs took: a duet's two sides ran at once."""
    by_pair: dict[int, list[float]] = {}
    for side in sides:
        by_pair.setdefault(side.pair, []).append(side.seconds or 0.0)
    duet = any(s.mode == PairMode.DUET for s in sides)
    return sum(max(took) if duet else sum(took) for took in by_pair.values())


def judge_case(engine: Engine, run_pk: int, case_key: str, sides: Sequence[PairSide],
               params: NightParams, hardware_key: str | None, *,
               control_key: str | None = None) -> list[PairedVerdict]:
    """The paired verdicts of one case, one per metric of PAIRED_METRICS. `control_key`:
    the series whose earlier nights in the control's lock tell whether the machine changed
    (default: the case's own)."""
    control_key = control_key or case_key
    from segtasks.pairs.measure import PairsOutcome
    from segtasks.pairs.stats import paired_summary
    from segtasks.pairs.verdict import judge_machine, judge_software, metric_of
    from segtasks.store.pairs import control_series

    mode = sides[0].mode
    control = next(s.lock_sha256 for s in sides if s.side == Side.CONTROL)
    treatment = next(s.lock_sha256 for s in sides if s.side == Side.TREATMENT)
    outcome = PairsOutcome(mode, len({s.pair for s in sides}), sides=list(sides))
    thresholds = night_thresholds(params.judging)
    packages = _packages(engine, control, treatment)
    verdicts = []
    for metric in PAIRED_METRICS:
        higher = metric_of(metric).higher_is_better
        # the series threshold of p50 latency is that of p90, the metric the night judges
        threshold = thresholds.of(case_key, metric if metric == "images_per_s"
                                  else "latency_p90_ms")
        summary = paired_summary(*outcome.complete_pairs(metric), higher_is_better=higher)
        software, detail = judge_software(summary, min_effect=threshold.min_effect,
                                          metric=metric, higher_is_better=higher)
        history = control_series(engine, control_key, hardware_key, control, run_pk,
                                 params.judging.baseline_runs, metric=metric, mode=mode)
        machine, change, machine_detail = judge_machine(
            outcome.side_values(Side.CONTROL, metric), history, threshold, params.judging,
            metric=metric, run_pk=run_pk)
        verdicts.append(PairedVerdict(
            case_key=case_key, hardware_key=hardware_key, metric=metric,
            control_lock=control, treatment_lock=treatment, mode=mode, pairs=summary.n,
            verdict=software, ratio=summary.ratio, ci_low=summary.ci_low,
            ci_high=summary.ci_high, p_value=summary.p_value, mde=summary.mde,
            min_effect=threshold.min_effect, machine_verdict=machine,
            machine_change=change, machine_detail=machine_detail,
            packages_changed=packages, detail=detail,
            budget_s=params.pairing.pairs_budget_s, spent_s=spent_s(sides)))
    return verdicts


def judge_pairs(engine: Engine, run: RunAddress, params: NightParams,
                results: Sequence[Result]) -> list[PairedVerdict]:
    """Every paired case of the run judged, its verdicts stored (a second close replaces
    them) and its sentence added to the run's notes."""
    from segtasks.pairs.verdict import night_line
    from segtasks.store import repository
    from segtasks.store.pairs import pair_sides, save_paired_verdict

    run_pk = pk_of(run)
    hardware = {r.case_key: r.hardware_key for r in results}
    verdicts: list[PairedVerdict] = []
    notes: list[str] = []
    for case in params.cases:
        sides = pair_sides(engine, run_pk, case.key)
        if not sides:
            continue
        judged = judge_case(engine, run_pk, case.key, sides, params, hardware.get(case.key),
                            control_key=series_key(case))
        for verdict in judged:
            save_paired_verdict(engine, run, verdict)
        verdicts += judged
        notes.append(f"{case.key}: {night_line(judged[0])}")
    if notes:
        repository.add_notes(engine, run, notes)
    return verdicts


def paired_problems(verdicts: Sequence[PairedVerdict]) -> list[str]:
    """A paired software regression, one line each: it fails the night as any other."""
    return [f"{v.case_key} regressed against its control ({v.metric}, paired): "
            f"{v.detail or v.verdict}" for v in verdicts
            if v.verdict == VerdictKind.REGRESSION]


def report_section(engine: Engine, run_pk: int, notes: Sequence[str]) -> Any:
    """The report's paired section of a stored night (segtasks.report.paired_section)."""
    from segtasks.report.paired_section import paired_section

    return paired_section(engine, run_pk, notes)
