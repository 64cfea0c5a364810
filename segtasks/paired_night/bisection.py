"""The night's bisections: for each new software regression of a paired case, which change
between the control's lock and tonight's explains it (segtasks.bisect), stored step by
step in `bisections`/`bisection_steps` so that a killed task, or `segbench bisect`, resumes
where it stopped.

Which regressions: the paired verdicts on images/s that say `regression` (the software,
measured against the control on this machine tonight: a machine-only change is the
control's own series and never a software regression). One whose two locks were bisected
on an earlier night is not bisected again: that bisection's answer is quoted instead (an
ongoing regression between the same two environments has the same culprit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine

from segtasks import paths
from segtasks.domain.bisection import Bisection, BisectionKind, BisectionOutcome, BisectionStep
from segtasks.domain.paired import PairedVerdict, PairMode
from segtasks.domain.verdicts import VerdictKind
from segtasks.errors import SegbenchError
from segtasks.plan.case import Case
from segtasks.store import repository
from segtasks.store.repository import RunAddress

log = logging.getLogger(__name__)

METRIC = "images_per_s"  # the headline: the metric a paired night's notes tell first
# a bisection measures each intermediate environment with the night's pairs, at least these
MIN_STEP_PAIRS = 3


class NothingToBisect(SegbenchError):
    """The run and case named hold no paired verdict that a bisection could explain."""


@dataclass(frozen=True)
class Target:
    case: Case
    verdict: PairedVerdict
    pairs: int
    mode: PairMode
    seed: int


def full_effect(v: PairedVerdict) -> BisectionStep:
    """The paired verdict the bisection sets out to explain, as the step that moves
    every group (the treatment's own lock)."""
    return BisectionStep(step=0, moved=(), lock_sha256=v.treatment_lock, verdict=v.verdict,
                         pairs=v.pairs, ratio=v.ratio, ci_low=v.ci_low, ci_high=v.ci_high,
                         mde=v.mde, seconds=v.spent_s)


def targets(engine: Engine, run_pk: int, cases: Sequence[Case], environments: dict,
            *, case_key: str | None = None) -> list[Target]:
    """The paired verdicts of run `run_pk` to bisect: its regressions on images/s (or,
    with `case_key`, that case's verdict when it is a regression or an improvement)."""
    from segtasks.store.paired_reads import paired_verdicts_of_run

    wanted = ({VerdictKind.REGRESSION, VerdictKind.IMPROVEMENT} if case_key
              else {VerdictKind.REGRESSION})
    by_key = {c.key: c for c in cases}
    found = []
    for v in paired_verdicts_of_run(engine, run_pk):
        if v.metric != METRIC or v.verdict not in wanted:
            continue
        if case_key is not None and v.case_key != case_key:
            continue
        case = by_key.get(v.case_key)
        if case is None:  # a case of an older plan: nothing says how to measure it
            log.warning("%s: not in the run's plan, not bisected", v.case_key)
            continue
        entry = environments.get(v.case_key) or {}
        found.append(Target(case, v, pairs=max(MIN_STEP_PAIRS, int(entry.get("pairs") or
                                                                   v.pairs)),
                            mode=PairMode(entry.get("mode") or v.mode),
                            seed=int(entry.get("seed") or 0)))
    if case_key is not None and not found:
        raise NothingToBisect(f"run {run_pk} has no paired regression or improvement of "
                              f"{case_key} on {METRIC} to bisect")
    return found


def bisect_target(engine: Engine, run: RunAddress, target: Target, *, budget_s: float | None,
                  inputs: Path | None = None, weights: Path | None = None) -> Bisection:
    """Bisect one target, storing each step as it ends; a bisection of the same case and
    locks that an earlier attempt started resumes from its stored steps."""
    from segtasks.bisect.run import bisect_case
    from segtasks.store import bisections
    from segtasks.store.locks import get_lock

    v = target.verdict
    run_pk = repository.pk_of(run)
    header = Bisection(case_key=v.case_key, hardware_key=v.hardware_key, metric=v.metric,
                       control_lock=v.control_lock, treatment_lock=v.treatment_lock,
                       # kind and outcome are set when it finishes
                       kind=BisectionKind.PACKAGES, outcome=BisectionOutcome.INCONCLUSIVE,
                       effect_ratio=v.ratio, effect_ci_low=v.ci_low, effect_ci_high=v.ci_high,
                       min_effect=v.min_effect, budget_s=budget_s, run_pk=run_pk)
    pk = bisections.start_bisection(engine, run, header)
    stored = bisections.bisection_of(engine, pk)
    if not stored.running:  # finished by an earlier attempt of the task: nothing to measure
        return stored
    done = bisections.steps_of(engine, pk)
    if done:
        log.info("%s: resuming its bisection: %d step(s) measured by an earlier attempt",
                 v.case_key, len(done))
    found = bisect_case(
        target.case, control=get_lock(engine, v.control_lock),
        treatment=get_lock(engine, v.treatment_lock), full=full_effect(v),
        inputs=inputs or paths.inputs_dir(), weights=weights or paths.weights_path(),
        pairs=target.pairs, mode=target.mode, seed=target.seed,
        min_effect=v.min_effect if v.min_effect is not None else 0.0, metric=v.metric,
        budget_s=budget_s, done=done,
        on_step=lambda step: bisections.add_step(engine, pk, step))
    found = replace(found, hardware_key=v.hardware_key, run_pk=run_pk, budget_s=budget_s)
    bisections.finish_bisection(engine, pk, found)
    return found


def bisect_night(run: RunAddress, cases: Sequence[Case], environments: dict, *,
                 db_url: str | None, budget_s: float) -> list[Bisection]:
    """Bisect the night's new software regressions, one after the other, within
    `budget_s` together; each is stored, and the run's notes name its culprit."""
    from segtasks import store
    from segtasks.report.bisection import bisection_line
    from segtasks.store import bisections

    engine = store.connect(db_url)
    repository.check_run(engine, run)
    run_pk = repository.pk_of(run)
    found = []
    started = time.monotonic()
    for target in targets(engine, run_pk, cases, environments):
        v = target.verdict
        earlier = bisections.earlier_bisection(engine, v.case_key, v.control_lock,
                                               v.treatment_lock, before_run=run_pk)
        if earlier is not None:
            repository.add_notes(engine, run, [
                f"{v.case_key}: bisected on run {earlier.run_pk}, the same two locks: "
                f"{bisection_line(earlier)}"])
            continue
        left = max(0.0, budget_s - (time.monotonic() - started))
        try:
            b = bisect_target(engine, run, target, budget_s=left)
        except SegbenchError as exc:  # e.g. a python version change: says why in one line
            repository.add_notes(engine, run, [f"{v.case_key}: not bisected: {exc}"])
            continue
        repository.add_notes(engine, run, [f"{v.case_key}: {bisection_line(b)}"])
        found.append(b)
    if found:
        rewrite_report(engine, run_pk, db_url)
    return found


def rewrite_report(engine: Engine, run_pk: int, db_url: str | None) -> None:
    """The night's report again, with its bisections (compare wrote it before they ran)."""
    from segtasks import store
    from segtasks.nightly import stored_report
    from segtasks.report import files

    url = store.masked(store.resolve_url(db_url))
    folder = files.default_folder(run_pk, url)
    try:
        files.write(stored_report(run_pk, db_url=db_url), folder)
    except OSError as exc:  # the bisections are stored and in the run's notes all the same
        log.warning("the report of run %d could not be rewritten in %s: %s", run_pk,
                    folder, paths.write_error(exc, folder, is_folder=True))


def bisect_stored(run_pk: int, case_key: str, *, db_url: str | None,
                  budget_s: float | None) -> Bisection:
    """`segbench bisect --run N --case KEY`: bisect a regression found on an earlier night
    (resuming its stored steps, if a bisection of it began), with the run's own parameters."""
    from segtasks import store
    from segtasks.nightly import plan as validated
    from segtasks.paired_night.environments import pair_seed
    from segtasks.report.bisection import bisection_line

    engine = store.connect(db_url)
    run = repository.get_run(engine, run_pk)  # NotFound names a run that is not there
    params = validated(dict(run.params or {}), db_url=db_url)
    [target] = targets(engine, run_pk, params.cases, {}, case_key=case_key)
    if not target.seed:  # the night's seed is in its task's plan, not stored: one per case
        target = replace(target, seed=pair_seed(run.run_id, case_key))
    found = bisect_target(engine, run_pk, target, budget_s=budget_s)
    repository.add_notes(engine, run_pk, [f"{case_key}: {bisection_line(found)}"])
    rewrite_report(engine, run_pk, db_url)
    return found
