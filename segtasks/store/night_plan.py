"""What a night set out to do, how far it got, and closing the nights nobody closed.

The night records its plan as it goes (the planned cases when it opens, the confirming
processes when screening asks for them: `runs.planned_cases`, `runs.confirm_jobs`), and
its results are stored as they are measured: so its progress, and, when it ends early,
what did not finish, are read from the store alone (never from Airflow's database).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from segtasks.domain.run_states import INCOMPLETE, RUNNING
from segtasks.store.repository import (
    SUPERSEDED_NOTE,
    RunAddress,
    _now,
    _own_run,
    _session,
    unmeasured,
)
from segtasks.store.schema import Process, Result, Run


def set_confirm_jobs(engine: Engine, run: RunAddress, jobs: Sequence[dict[str, Any]]) -> None:
    """The confirming processes screening asked for (the same list from every screening
    task of the night: written whole, so a second write changes nothing)."""
    with _session(engine) as session, session.begin():
        _own_run(session, run).confirm_jobs = [dict(job) for job in jobs]


@dataclass(frozen=True)
class Counts:
    """How far a night got, as stored."""

    run_pk: int
    planned: int | None  # None: the run did not record its plan (opened before it was kept)
    measured: int  # cases with a stored result (whatever their status)
    to_confirm: int | None  # confirming processes asked for; None: not screened yet
    confirmed: int  # confirming processes stored


def counts(engine: Engine, run_pks: Sequence[int]) -> dict[int, Counts]:
    """Each run's progress, in three queries whatever the number of runs."""
    if not run_pks:
        return {}
    with _session(engine) as session:
        plans = {pk: (planned, jobs) for pk, planned, jobs in session.execute(
            select(Run.id, Run.planned_cases, Run.confirm_jobs).where(Run.id.in_(run_pks)))}
        measured = dict(session.execute(  # type: ignore[arg-type]
            select(Result.run_pk, func.count()).where(Result.run_pk.in_(run_pks))
            .group_by(Result.run_pk)).all())
        confirmed = dict(session.execute(  # type: ignore[arg-type]
            select(Process.run_pk, func.count())
            .where(Process.run_pk.in_(run_pks), Process.role == "confirm")
            .group_by(Process.run_pk)).all())
    return {pk: Counts(pk, None if planned is None else len(planned), measured.get(pk, 0),
                       None if jobs is None else len(jobs), confirmed.get(pk, 0))
            for pk, (planned, jobs) in plans.items()}


@dataclass(frozen=True)
class Superseded:
    run_pk: int
    run_id: str
    unfinished: list[str]


def close_superseded(engine: Engine, *, dag_id: str, run_id: str) -> list[Superseded]:
    """Close as `incomplete` every run of `dag_id` still `running` that started before
    `run_id`: for a DAG that runs one night at a time (max_active_runs=1), Airflow opens
    a run only once the one before has ended, so an earlier run still open never reached
    its last task (killed, or marked failed in Airflow). Its planned cases with no stored
    result are its unfinished work."""
    closed = []
    with _session(engine) as session, session.begin():
        tonight = session.scalar(select(Run).where(Run.dag_id == dag_id,
                                                   Run.run_id == run_id))
        if tonight is None:
            return []
        for row in session.scalars(
                select(Run).where(Run.dag_id == dag_id, Run.state == RUNNING,
                                  Run.id != tonight.id, Run.started_at < tonight.started_at)
                .with_for_update(skip_locked=True)):
            left = unmeasured(session, row)
            row.state, row.finished_at = INCOMPLETE, _now()
            row.unfinished = left or None
            row.notes = [*(row.notes or []), f"{SUPERSEDED_NOTE}{tonight.id} ({tonight.run_id}) "
                         f"opened: its DAG runs one night at a time, so this one ended "
                         f"without its last task (killed, or marked failed in Airflow)"]
            closed.append(Superseded(row.id, row.run_id, left))
    return closed
