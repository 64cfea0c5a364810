"""How far a running night has got: "3 of 5 cases measured, 2 to confirm".

Read from the store alone (segtasks.store.night_plan.counts): the cases the night planned
when it opened, the results stored since, the confirming processes screening asked for and
those stored. A page shows it beside a running night and refreshes while the night runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from segtasks.store import night_plan

# how often a page showing a running night reloads itself, in seconds
REFRESH_S = 30


@dataclass(frozen=True)
class NightProgress:
    run_pk: int
    planned: int | None  # cases the night set out to measure; None: it did not record them
    measured: int  # cases with a stored result
    to_confirm: int | None  # confirming processes still to measure; None: not screened yet
    confirmations: int | None  # confirming processes screening asked for

    @property
    def text(self) -> str:
        """E.g. '3 of 5 cases measured', then, once screened, '5 of 5 cases measured, 2 to
        confirm'."""
        cases = "case" if (self.planned or self.measured) == 1 else "cases"
        done = (f"{self.measured} of {self.planned} {cases} measured"
                if self.planned is not None else f"{self.measured} {cases} measured")
        return done if self.to_confirm is None else f"{done}, {self.to_confirm} to confirm"

    @property
    def fraction(self) -> float | None:
        """Of the work planned so far (cases, then confirming processes), how much is done."""
        if self.planned is None:
            return None
        total = self.planned + (self.confirmations or 0)
        done = self.measured + (self.confirmations or 0) - (self.to_confirm or 0)
        return min(1.0, done / total) if total else None


def _progress(counts: night_plan.Counts) -> NightProgress:
    left = None if counts.to_confirm is None else max(0, counts.to_confirm - counts.confirmed)
    return NightProgress(counts.run_pk, counts.planned, counts.measured, left,
                         counts.to_confirm)


def nights_progress(engine: Engine, run_pks: Sequence[int]) -> dict[int, NightProgress]:
    """The progress of several nights at once (the pages' lists of runs)."""
    return {pk: _progress(found) for pk, found in night_plan.counts(engine, run_pks).items()}


def night_progress(engine: Engine, run_pk: int) -> NightProgress | None:
    """The progress of one night (None: no such run): "k of n cases measured, m to
    confirm" is its `text`."""
    return nights_progress(engine, [run_pk]).get(run_pk)
