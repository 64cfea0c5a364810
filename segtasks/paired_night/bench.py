"""One paired case of a night: measured in pairs of fresh processes, control and treatment
in a randomized order (segtasks.pairs.measure), each side stored as soon as it is measured
so that a killed task loses nothing measured.

The case's own measurement (its result row, its end-to-end figure, its output checks) is
made first, as an unpaired night makes it, in the treatment's environment; the pairs that
follow measure each side's timed loop only (segtasks.pairs.measure.side_case), so that a
paired case costs one ordinary measurement plus 2 x pairs short ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
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


def measured_pairs(sides: Sequence[PairSide]) -> frozenset[int]:
    """The pairs whose two sides are stored (whatever their status): an earlier attempt of
    the task measured them. A pair with one side stored is measured again whole: its other
    side, measured later, would not share the machine's state with it."""
    by_pair: dict[int, set[Side]] = {}
    for side in sides:
        by_pair.setdefault(side.pair, set()).add(side.side)
    return frozenset(pair for pair, found in by_pair.items() if len(found) == 2)


def measure_paired(engine: Engine, run: RunAddress, case: Case, entry: dict[str, Any], *,
                   inputs: Path, weights: Path, timeout_s: float | None = None,
                   watch_pid: int | None = None) -> int:
    """Measure the case's pairs as `entry` (its line of the environment plan) says, storing
    each side as it comes; returns the number of complete pairs measured by this call.

    A retried task (its first attempt killed while measuring pairs) resumes: the pairs
    stored whole are kept, the rest measured in the order the plan's seed gives them, and
    the budget is what the earlier attempts left of it."""
    from segtasks.paired_night.judge import spent_s
    from segtasks.pairs.measure import SideSpec, measure_pairs
    from segtasks.store.pairs import pair_sides, save_pair_side

    treatment_sha, control_sha = entry["treatment"]["sha256"], entry["control"]["sha256"]
    # this machine's interpreters: a worker that lacks an environment builds it here
    treatment = SideSpec(interpreter_of(engine, treatment_sha), treatment_sha)
    control = SideSpec(interpreter_of(engine, control_sha), control_sha)

    def on_side(side: PairSide, result: CaseResult) -> None:
        save_pair_side(engine, run, case.key, side)

    earlier = pair_sides(engine, repository.pk_of(run), case.key)
    done = measured_pairs(earlier)
    budget_s = entry.get("budget_s")
    if earlier:
        partial = sorted({s.pair for s in earlier} - done)
        log.info("%s: resuming its pairs: %d measured by an earlier attempt%s", case.key,
                 len(done), f", pairs {partial} measured again whole" if partial else "")
        if budget_s is not None:
            budget_s = max(0.0, float(budget_s) - spent_s(earlier))
    outcome = measure_pairs(
        case, inputs=inputs, weights=weights, control=control, treatment=treatment,
        pairs=int(entry["pairs"]), mode=PairMode(entry["mode"]), seed=int(entry["seed"]),
        budget_s=budget_s, timeout_s=timeout_s, watch_pid=watch_pid,
        on_side=on_side, done=done)
    complete = len(outcome.complete_pairs()[0])
    started = len(done) + outcome.pairs_started
    log.info("%s: %d of %d pairs measured (%d complete) in %.0f s", case.key,
             started, outcome.pairs_asked, complete, outcome.spent_s)
    if outcome.budget_exhausted:
        repository.add_notes(engine, run, [
            f"{case.key}: {started} of {outcome.pairs_asked} pairs measured "
            f"within the pairs budget ({entry.get('budget_s'):g} s)"])
    return complete
