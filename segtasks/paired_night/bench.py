"""One paired case of a night: measured in pairs of fresh processes, control and treatment
in a randomized order (segtasks.pairs.measure), each side stored as soon as it is measured
so that a killed task loses nothing measured.

The case's result row is the treatment's first process, stored as an unpaired night stores
its one process (with the lock it ran in); every further treatment process joins it as one
more process of the case, so the case's series is judged on all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from segtasks.domain.paired import PairMode, PairSide, Side
from segtasks.paired_night.environments import interpreter_of
from segtasks.plan.case import Case
from segtasks.result import CaseResult
from segtasks.store import repository
from segtasks.store.repository import RunAddress

log = logging.getLogger(__name__)

# Stores the case's result row and its first process (the night's own way, with its
# spooling when the database fails); given the result, the seconds it took, the lock.
StoreFirst = Callable[[CaseResult, float, str], None]


def measure_paired(engine: Engine, run: RunAddress, case: Case, entry: dict[str, Any], *,
                   inputs: Path, weights: Path, store_first: StoreFirst,
                   timeout_s: float | None = None, watch_pid: int | None = None
                   ) -> CaseResult | None:
    """Measure the case's pairs as `entry` (its line of the environment plan) says; returns
    the treatment's first result (None when no treatment side was measured)."""
    from segtasks.pairs.measure import SideSpec, measure_pairs
    from segtasks.store.pairs import save_pair_side

    treatment_sha, control_sha = entry["treatment"]["sha256"], entry["control"]["sha256"]
    # this machine's interpreters: a worker that lacks an environment builds it here
    treatment = SideSpec(interpreter_of(engine, treatment_sha), treatment_sha)
    control = SideSpec(interpreter_of(engine, control_sha), control_sha)
    firsts: list[CaseResult] = []
    processes = 0

    def on_side(side: PairSide, result: CaseResult) -> None:
        nonlocal processes
        save_pair_side(engine, run, case.key, side)
        if side.side != Side.TREATMENT:
            return
        if not firsts:
            firsts.append(result)
            store_first(result, side.seconds or 0.0, treatment_sha)
        elif firsts[0].status == "ok":
            repository.save_process(engine, run, result, process=processes, role="first",
                                    seconds=side.seconds)
        processes += 1

    outcome = measure_pairs(
        case, inputs=inputs, weights=weights, control=control, treatment=treatment,
        pairs=int(entry["pairs"]), mode=PairMode(entry["mode"]), seed=int(entry["seed"]),
        budget_s=entry.get("budget_s"), timeout_s=timeout_s, watch_pid=watch_pid,
        on_side=on_side)
    complete = len(outcome.complete_pairs()[0])
    log.info("%s: %d of %d pairs measured (%d complete) in %.0f s", case.key,
             outcome.pairs_started, outcome.pairs_asked, complete, outcome.spent_s)
    if outcome.budget_exhausted:
        repository.add_notes(engine, run, [
            f"{case.key}: {outcome.pairs_started} of {outcome.pairs_asked} pairs measured "
            f"within the pairs budget ({entry.get('budget_s'):g} s)"])
    return firsts[0] if firsts else None
