"""What the results pages (segtasks.ui) read, in a few bound-parameter queries each (no SQL
is built from a request's strings). Rows come back as frozen values (segtasks.domain), the
same the judge and the report take."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from segtasks import errors
from segtasks.domain import records as values
from segtasks.domain.verdicts import Verdict
from segtasks.store import records
from segtasks.store.schema import BaselineLevel, Comparison, Result, Run


class NotFound(errors.NotFound):
    """What a page or an action names is not in the results database (a 404)."""


def _session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def run_by_pk(engine: Engine, run_pk: int) -> values.Run:
    with _session(engine) as session:
        run = session.get(Run, run_pk)
    if run is None:
        raise NotFound(f"no stored run with id {run_pk}")
    return records.run(run)


def run_by_ids(engine: Engine, dag_id: str, run_id: str) -> values.Run | None:
    with _session(engine) as session:
        found = session.scalar(select(Run).where(Run.dag_id == dag_id, Run.run_id == run_id))
        return None if found is None else records.run(found)


def recent_runs(engine: Engine, *, limit: int, offset: int = 0) -> list[values.Run]:
    with _session(engine) as session:
        return [records.run(row) for row in session.scalars(
            select(Run).order_by(Run.started_at.desc(), Run.id.desc())
            .limit(limit).offset(offset))]


def previous_run_pk(engine: Engine, run: values.Run) -> int | None:
    """The run of the same DAG just before this one (for a default comparison)."""
    with _session(engine) as session:
        return session.scalar(
            select(Run.id).where(Run.dag_id == run.dag_id, Run.id != run.id,
                                 Run.started_at <= run.started_at)
            .order_by(Run.started_at.desc(), Run.id.desc()).limit(1))


def verdict_counts(engine: Engine, run_pks: Sequence[int]) -> dict[int, dict[str, int]]:
    """How many verdicts of each kind every run has."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in run_pks}
    if not run_pks:
        return counts
    with _session(engine) as session:
        rows = session.execute(
            select(Comparison.run_pk, Comparison.verdict, func.count())
            .where(Comparison.run_pk.in_(run_pks))
            .group_by(Comparison.run_pk, Comparison.verdict))
        for run_pk, verdict, count in rows:
            counts[run_pk][verdict] = count
    return counts


def results_of(engine: Engine, run_pks: Sequence[int]) -> list[values.Result]:
    """The results of some runs with their run and environment, without samples."""
    with _session(engine) as session:
        return [records.result(row, with_run=True) for row in session.scalars(
            select(Result).where(Result.run_pk.in_(run_pks))
            .options(joinedload(Result.run), selectinload(Result.environment))
            .order_by(Result.run_pk, Result.device, Result.batch_size, Result.case_key))]


def latest_nights(engine: Engine) -> list[values.Result]:
    """The results of the latest run that measured each device on each hardware."""
    latest = (
        select(Result.device, Result.hardware_key, func.max(Run.started_at).label("at"))
        .join(Run, Run.id == Result.run_pk)
        .group_by(Result.device, Result.hardware_key)
        .subquery())
    with _session(engine) as session:
        return [records.result(row, with_run=True) for row in session.scalars(
            select(Result)
            .join(Run, Run.id == Result.run_pk)
            .join(latest, and_(latest.c.device == Result.device,
                               latest.c.hardware_key.is_not_distinct_from(Result.hardware_key),
                               latest.c.at == Run.started_at))
            .options(joinedload(Result.run), selectinload(Result.environment))
            .order_by(Result.device, Result.hardware_key, Result.batch_size))]


def comparisons_of(engine: Engine, run_pks: Sequence[int]) -> list[Verdict]:
    if not run_pks:
        return []
    with _session(engine) as session:
        return [records.verdict(row) for row in session.scalars(
            select(Comparison).where(Comparison.run_pk.in_(run_pks)).order_by(Comparison.id))]


def levels(engine: Engine, *, case_key: str | None = None, hardware_key: str | None = None,
           include_undone: bool = False) -> list[values.BaselineLevel]:
    """Accepted baseline levels (with the run each starts from), oldest first."""
    query = select(BaselineLevel).options(joinedload(BaselineLevel.from_run))
    if case_key is not None:
        query = query.where(BaselineLevel.case_key == case_key,
                            BaselineLevel.hardware_key == hardware_key)
    if not include_undone:
        query = query.where(BaselineLevel.undone_at.is_(None))
    with _session(engine) as session:
        return [records.level(row) for row in session.scalars(
            query.order_by(BaselineLevel.accepted_at, BaselineLevel.id))]


def series_nights(engine: Engine, case_key: str, hardware_key: str) -> list[values.Result]:
    """Every night of one series (any status), oldest first, with run and software."""
    with _session(engine) as session:
        return [records.result(row, with_run=True) for row in session.scalars(
            select(Result).join(Run, Run.id == Result.run_pk)
            .where(Result.case_key == case_key, Result.hardware_key == hardware_key)
            .options(joinedload(Result.run), selectinload(Result.environment))
            .order_by(Run.started_at, Run.id))]


def series_comparisons(engine: Engine, case_key: str, hardware_key: str) -> list[Verdict]:
    """The series' verdicts: what a chart's band and markers need."""
    with _session(engine) as session:
        return [records.verdict(row) for row in session.scalars(
            select(Comparison)
            .where(Comparison.case_key == case_key, Comparison.hardware_key == hardware_key))]


def hardware_of_case(engine: Engine, case_key: str) -> list[tuple[str, datetime]]:
    """The hardware keys a case was measured on, most recently measured first."""
    with _session(engine) as session:
        rows = session.execute(
            select(Result.hardware_key, func.max(Run.started_at).label("last"))
            .join(Run, Run.id == Result.run_pk)
            .where(Result.case_key == case_key, Result.hardware_key.is_not(None))
            .group_by(Result.hardware_key)
            .order_by(func.max(Run.started_at).desc()))
        return [(hardware, last) for hardware, last in rows if hardware is not None]
