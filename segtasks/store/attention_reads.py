"""What "Needs attention" reads (segtasks.report.attention): the recent runs, the verdicts of
every series that had a problem among them, and the answers people gave (accepted levels,
accepted golden outputs). A few bound-parameter queries whatever the history's length:
only the recent runs' rows of the series concerned are read."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, or_, select, tuple_
from sqlalchemy.orm import Session, joinedload

from segtasks.domain import records as values
from segtasks.domain.verdicts import Verdict
from segtasks.store import records
from segtasks.store.schema import GOLDEN, RETIRED, BaselineLevel, Comparison, GoldenOutput, Run


@dataclass(frozen=True)
class GoldenAccepted:
    """Golden outputs a person accepted from a night (not the first night's own)."""

    id: int
    run_pk: int
    case_key: str | None  # the case whose outputs they are
    device_kind: str
    accepted_by: str
    accepted_at: datetime
    reason: str | None


@dataclass(frozen=True)
class AttentionRows:
    runs: list[values.Run]  # the recent runs, oldest first
    verdicts: list[Verdict]  # every verdict of the series concerned in those runs
    levels: list[values.BaselineLevel]  # accepted, not undone
    goldens: list[GoldenAccepted]


def _session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def attention_rows(engine: Engine, *, problems: Collection[str], runs: int) -> AttentionRows:
    """The last `runs` runs; the verdicts, in them, of every series with a verdict in
    `problems` among them; the levels of those series; the golden outputs accepted from
    those runs."""
    with _session(engine) as session:
        recent = [records.run(row) for row in session.scalars(
            select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(runs))]
        recent.reverse()
        run_pks = [run.id for run in recent]
        if not run_pks:
            return AttentionRows([], [], [], [])
        series = session.execute(
            select(Comparison.case_key, Comparison.hardware_key).distinct()
            .where(Comparison.run_pk.in_(run_pks), Comparison.verdict.in_(list(problems)))
        ).all()
        verdicts: list[Verdict] = []
        if series:
            keys = [(case_key, hardware_key) for case_key, hardware_key in series]
            concerned = or_(
                tuple_(Comparison.case_key, Comparison.hardware_key).in_(
                    [k for k in keys if k[1] is not None]),
                Comparison.hardware_key.is_(None)
                & Comparison.case_key.in_([k[0] for k in keys if k[1] is None]))
            verdicts = [records.verdict(row) for row in session.scalars(
                select(Comparison).where(Comparison.run_pk.in_(run_pks), concerned)
                .order_by(Comparison.id))]
        cases = sorted({v.case_key for v in verdicts})
        levels = [records.level(row) for row in session.scalars(
            select(BaselineLevel).options(joinedload(BaselineLevel.from_run))
            .where(BaselineLevel.undone_at.is_(None), BaselineLevel.case_key.in_(cases))
            .order_by(BaselineLevel.accepted_at, BaselineLevel.id))] if cases else []
        goldens = [GoldenAccepted(row.id, row.run_pk, row.case_key, row.device_kind,
                                  row.accepted_by, row.accepted_at, row.reason)
                   for row in session.scalars(
                       select(GoldenOutput).where(
                           GoldenOutput.run_pk.in_(run_pks),
                           GoldenOutput.state.in_((GOLDEN, RETIRED)),
                           GoldenOutput.accepted_at.is_not(None),
                           GoldenOutput.accepted_by.is_not(None),
                           GoldenOutput.accepted_by != "segbench")  # the first night's own
                       .order_by(GoldenOutput.id))
                   if row.run_pk is not None and row.accepted_by is not None
                   and row.accepted_at is not None]
    return AttentionRows(recent, verdicts, levels, goldens)
