"""Which environment each case of a night runs in, and which it is paired against.

Before the grid, `prepare` resolves every case's treatment lock (its own with several
environments, else the night's) and the night's control ("baseline": the lock of the
newest good night that measured the case in the night's own environment; a named lock; or
none), builds the environments
that are not this one (segtasks.envs.build, cached under var/envs), sizes each case's pairs
and hands the grid a small plan as JSON (Airflow passes it through XCom):

    {case_key: {"treatment": {"sha256": ..., "python": ...},
                "control": {"sha256": ..., "python": ...} | None,
                "pairs": 5, "mode": "interleaved", "budget_s": 900.0, "seed": 1234}}

A case whose control is its own lock runs as every night did (no pairs), and the run's
notes say why. The interpreter paths are those of the machine that prepared: a bench
task finds (or builds) its own with `interpreter_of`, so a Celery worker that lacks an
environment builds the same lock locally.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from segtasks import store
from segtasks.domain.paired import SAME_AS_BASELINE
from segtasks.errors import SegbenchError
from segtasks.judge.thresholds import night_thresholds
from segtasks.plan import NightParams
from segtasks.plan.case import CURRENT_ENVIRONMENT, Case
from segtasks.plan.params import CONTROL_BASELINE, CONTROL_NONE, MIN_PAIRS
from segtasks.plan.validate import LockResolver
from segtasks.store import repository
from segtasks.store.paired_history import baseline_lock, paired_log_sd
from segtasks.store.repository import RunAddress

log = logging.getLogger(__name__)

SPEED_METRIC = "images_per_s"  # what pairs are sized for and judged on first
# The note of a night (or of its cases) whose lock is the baseline night's
EnvPlan = dict[str, dict[str, Any]]


def current_sha256() -> str:
    from segtasks.envs.snapshot import current

    return current().sha256


def lock_resolver(db_url: str | None) -> LockResolver:
    """Lock references resolved in the results database (a name, a sha256 or a prefix of
    it; segtasks.store.locks.get_lock); a lock equal to this environment's is the current
    one (None). The database is asked only when a reference needs it."""

    def resolve(ref: str) -> str | None:
        from segtasks.store.locks import get_lock

        if ref == CURRENT_ENVIRONMENT:
            return None
        sha = get_lock(store.connect(db_url), ref).sha256
        return None if sha == current_sha256() else sha

    return resolve


def record_current(engine: Engine) -> str:
    """This environment's lock, stored (origin "night"); its sha256."""
    from segtasks.envs.snapshot import current
    from segtasks.store.locks import save_lock

    return save_lock(engine, current(), origin="night")


def interpreter_of(engine: Engine, sha256: str) -> str:
    """The interpreter of a lock on this machine: this one for the current lock, else its
    environment's under var/envs, built now (with uv, from the cache when it can) if this
    machine does not have it yet. EnvironmentBuildFailed names what could not be had."""
    if sha256 == current_sha256():
        return sys.executable
    from segtasks.envs.build import interpreter
    from segtasks.store.locks import get_lock

    return interpreter(get_lock(engine, sha256))


def pair_seed(run_id: str, case_key: str) -> int:
    """The pairs' orders: fixed per night and case (a retried task measures them alike)."""
    return int(hashlib.sha256(f"{run_id}/{case_key}".encode()).hexdigest()[:8], 16)


def series_key(case: Case) -> str:
    """The key of the case's series in the night's own environment: a case of one of
    several environments (-env<lock> in its key) is compared with the software the case
    ran in on its baseline night, and its control's nights are that series'."""
    return replace(case, lock_sha256=None).key


def _control(engine: Engine, case: Case, params: NightParams, current: str, run_pk: int
             ) -> tuple[str | None, str | None]:
    """(the control lock's sha256 or None, why there is none)."""
    asked = params.pairing.control
    if asked == CONTROL_NONE:
        return None, None
    if asked == CONTROL_BASELINE:
        found = baseline_lock(engine, series_key(case), run_pk)
        if found is None:
            return None, "no earlier good night recorded its lock: not paired"
        return found, None
    return (current if asked == CURRENT_ENVIRONMENT else asked), None


def mode_for(case: Case, asked: str) -> str:
    """The pair mode of a case: a duet splits CPU cores between the two sides, so a CUDA
    case (one GPU for both sides) and a case with fewer than two cores pair interleaved."""
    from segtasks.domain.paired import PairMode
    from segtasks.measure.placement import allowed_cores

    if asked != PairMode.DUET:
        return asked
    cores = case.cpu_affinity or tuple(allowed_cores())
    return PairMode.DUET.value if case.device == "cpu" and len(cores) >= 2 \
        else PairMode.INTERLEAVED.value


def pairs_for(engine: Engine, case: Case, params: NightParams, run_pk: int) -> int:
    """The pairs of a case: as asked, else enough for the series' minimum effect given the
    spread of its earlier pairs (the cap when it has none yet)."""
    from segtasks.pairs.stats import pairs_needed

    pairing = params.pairing
    if pairing.pairs is not None:
        return pairing.pairs
    spread = paired_log_sd(engine, case.key, run_pk, params.judging.baseline_runs)
    if spread is None:
        return pairing.pairs_max
    min_effect = night_thresholds(params.judging).of(case.key, SPEED_METRIC).min_effect
    return pairs_needed(spread, min_effect, floor=MIN_PAIRS, cap=pairing.pairs_max)


def _grouped(reasons: dict[str, list[str]], planned: int) -> list[str]:
    """One note per reason, naming the cases unless it holds for all of them."""
    return [reason if len(keys) == planned else f"{', '.join(keys)}: {reason}"
            for reason, keys in reasons.items()]


def prepare(engine: Engine, run: RunAddress, params: NightParams, *, run_id: str
            ) -> EnvPlan:
    """The night's environment plan (see the module docstring); the environments built,
    the reasons for unpaired cases added to the run's notes."""
    repository.check_run(engine, run)
    run_pk = repository.pk_of(run)
    current = current_sha256()
    unpaired: dict[str, list[str]] = defaultdict(list)
    wanted: dict[str, tuple[str, str | None]] = {}
    for case in params.cases:
        treatment = params.treatment_of(case) or current
        control, why = _control(engine, case, params, current, run_pk)
        if control == treatment:
            control, why = None, (SAME_AS_BASELINE
                                  if params.pairing.control == CONTROL_BASELINE else
                                  "the control is the case's own lock: not paired")
        if why:
            unpaired[why].append(case.key)
        wanted[case.key] = (treatment, control)
    pythons: dict[str, str | None] = {}
    failed: dict[str, str] = {}
    for sha in dict.fromkeys(s for pair in wanted.values() for s in pair if s):
        try:
            pythons[sha] = interpreter_of(engine, sha)
        except SegbenchError as exc:  # EnvironmentBuildFailed, a lock no longer stored
            log.error("environment %s: %s", sha[:12], exc)
            pythons[sha], failed[sha] = None, str(exc)
    plan: EnvPlan = {}
    for case in params.cases:
        treatment, control = wanted[case.key]
        if control is not None and control in failed:
            unpaired[f"the control environment {control[:12]} could not be built "
                     f"({failed[control]}): not paired"].append(case.key)
            control = None
        entry: dict[str, Any] = {
            "treatment": {"sha256": treatment, "python": pythons[treatment]},
            "control": None if control is None else {"sha256": control,
                                                     "python": pythons[control]}}
        if treatment in failed:
            entry["treatment"]["error"] = (f"its environment {treatment[:12]} could not be "
                                           f"built: {failed[treatment]}")
        if control is not None:
            entry.update(pairs=pairs_for(engine, case, params, run_pk),
                         mode=mode_for(case, params.pairing.pair_mode),
                         budget_s=params.pairing.pairs_budget_s,
                         seed=pair_seed(run_id, case.key))
        plan[case.key] = entry
    if notes := _grouped(unpaired, len(params.cases)):
        repository.add_notes(engine, run, notes)
    paired = [key for key, entry in plan.items() if entry["control"]]
    log.info("environments: %d case(s) paired%s", len(paired),
             f" ({', '.join(paired)})" if paired else "")
    return plan
