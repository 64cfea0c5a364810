"""Paired nights stored with the ORM, as segtasks.pairs stores them, for the tests of what
reads them back (the report, the pages, the alerts, the SQL cookbook).

The figures are the issue's example: tonight's software 6.1% slower than the control's
(ratio 0.939, interval 0.928 .. 0.950 over 5 pairs), the machine unchanged, torch
2.14.0 -> 2.14.1 between the two locks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from factories import HARDWARE
from sqlalchemy.orm import Session

from segtasks.domain.paired import SAME_AS_BASELINE
from segtasks.store.schema import Lock, Pair, PairedVerdict, Run

CONTROL = hashlib.sha256(b"baseline night's lock").hexdigest()
TREATMENT = hashlib.sha256(b"tonight's lock").hexdigest()
NOW = datetime(2026, 12, 7, 2, tzinfo=UTC)


@dataclass(frozen=True)
class PairedCase:
    case_key: str = "cpu-bs1-fp32"
    hardware_key: str | None = HARDWARE
    metric: str = "images_per_s"
    verdict: str = "regression"
    ratio: float | None = 0.939
    ci_low: float | None = 0.928
    ci_high: float | None = 0.950
    mde: float | None = 0.021
    machine_verdict: str | None = "unchanged"
    machine_change: float | None = -0.004
    packages_changed: tuple[str, ...] = ("torch 2.14.0 -> 2.14.1",)
    detail: str | None = None
    # (control images/s, treatment images/s, which side ran first), one per pair
    pairs: tuple[tuple[float, float, str], ...] = field(default=(
        (10.0, 9.4, "treatment"), (10.1, 9.5, "control"), (9.9, 9.3, "control"),
        (10.0, 9.4, "treatment"), (10.05, 9.45, "control")))


def _locks(session: Session) -> None:
    for sha, torch in ((CONTROL, "2.14.0"), (TREATMENT, "2.14.1")):
        if session.query(Lock).filter_by(sha256=sha).first() is None:
            session.add(Lock(sha256=sha, name=f"torch-{torch}", python_version="3.12.3",
                             packages=[{"name": "torch", "version": torch}],
                             code_revision="abc", origin="night", created_at=NOW))


def add_paired_night(engine, run_pk: int, cases: tuple[PairedCase, ...] = (PairedCase(),)
                     ) -> None:
    """Store `cases` as the paired verdicts and pairs of run `run_pk`, which ran in
    TREATMENT; the pairs go in newest first, so that a reader must order them itself."""
    with Session(engine) as session, session.begin():
        _locks(session)
        session.get_one(Run, run_pk).lock_sha256 = TREATMENT
        for case in cases:
            session.add(PairedVerdict(
                run_pk=run_pk, case_key=case.case_key, hardware_key=case.hardware_key,
                metric=case.metric, control_lock=CONTROL, treatment_lock=TREATMENT,
                mode="interleaved", pairs=len(case.pairs), ratio=case.ratio,
                ci_low=case.ci_low, ci_high=case.ci_high, p_value=0.001, mde=case.mde,
                min_effect=0.05, verdict=case.verdict, machine_verdict=case.machine_verdict,
                machine_change=case.machine_change, machine_detail=None,
                packages_changed=list(case.packages_changed), detail=case.detail,
                budget_s=600.0, spent_s=240.0, created_at=NOW))
            for number, (control, treatment, first) in reversed(list(enumerate(case.pairs))):
                for side, lock, value in (("treatment", TREATMENT, treatment),
                                          ("control", CONTROL, control)):
                    session.add(Pair(
                        run_pk=run_pk, case_key=case.case_key, pair=number,
                        position=0 if side == first else 1, side=side, lock_sha256=lock,
                        mode="interleaved", status="ok", images_per_s=value,
                        latency_p50_ms=1e3 / value, ci_rel=0.01, n_batches=20, valid=True,
                        cpu_affinity=[0, 1], seconds=24.0, created_at=NOW))


def set_run_lock(engine, run_pk: int, sha: str = CONTROL) -> None:
    """A night that ran in `sha` without pairs (its lock was the baseline night's, and its
    notes say so, as the night writes them)."""
    with Session(engine) as session, session.begin():
        _locks(session)
        run = session.get_one(Run, run_pk)
        run.lock_sha256 = sha
        run.notes = [*(run.notes or []), f"cpu-bs1-fp32: {SAME_AS_BASELINE}"]
