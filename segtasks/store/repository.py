"""Reading and writing benchmark rows. Every write is idempotent, so a retried task is safe.

A night's writes name its run by identity (segtasks.store.identity.RunRef), checked in the
write's own transaction: a database recreated while the night ran refuses them instead of
filing them under another night's run that got the same primary key. A plain primary key
(tools, tests) is taken as the run of this database as it is now.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from segtasks.domain import records as values
from segtasks.domain import run_states
from segtasks.domain.records import Night, Series
from segtasks.domain.verdicts import Verdict
from segtasks.errors import NotFound, Refused
from segtasks.plan.case import Case
from segtasks.result import PHASES, CaseResult
from segtasks.store import records
from segtasks.store.fingerprints import environment_columns
from segtasks.store.golden import keep_reference
from segtasks.store.identity import RunRef, new_token
from segtasks.store.nearest import nearest
from segtasks.store.schema import (
    BaselineLevel,
    Comparison,
    Environment,
    Process,
    Result,
    Run,
    Sample,
)

# Every field of a case is a column of `results` (the grid's axes and the protocol).
CASE_COLUMNS = tuple(f.name for f in fields(Case))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _now() -> datetime:
    return datetime.now(UTC)


def _session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


# How long a run may go without a heartbeat before the next night closes it as abandoned,
# when it does not say (runs from before heartbeats): a day, the nightly's own period.
DEFAULT_STALE_AFTER_S = 24 * 3600.0


def open_run(
    engine: Engine,
    *,
    dag_id: str,
    run_id: str,
    trigger: str,
    params: dict[str, Any],
    code_version: str | None,
    logical_date: datetime | None = None,
    stale_after_s: float | None = None,
    lock_sha256: str | None = None,
    planned_cases: list[str] | None = None,
) -> int:
    """The row of this run, created on first call; a retried call returns the same row."""
    return open_own_run(engine, dag_id=dag_id, run_id=run_id, trigger=trigger, params=params,
                        code_version=code_version, logical_date=logical_date,
                        stale_after_s=stale_after_s, lock_sha256=lock_sha256,
                        planned_cases=planned_cases).pk


def open_own_run(
    engine: Engine,
    *,
    dag_id: str,
    run_id: str,
    trigger: str,
    params: dict[str, Any],
    code_version: str | None,
    logical_date: datetime | None = None,
    stale_after_s: float | None = None,
    lock_sha256: str | None = None,
    planned_cases: list[str] | None = None,
) -> RunRef:
    """This run's row and identity, created on first call with a new random token; a
    retried call (same DAG id and run id, same database) returns the same ones.
    `lock_sha256`: the lock (segtasks.envs) the night runs in; `planned_cases`: the keys
    of the cases it sets out to measure (its progress, and what did not finish)."""
    with _session(engine) as session, session.begin():
        run = session.scalar(select(Run).where(Run.dag_id == dag_id, Run.run_id == run_id))
        if run is None:
            now = _now()
            run = Run(dag_id=dag_id, run_id=run_id, trigger=trigger, params=params,
                      code_version=code_version, logical_date=logical_date,
                      started_at=now, state="running", token=new_token(), heartbeat_at=now,
                      stale_after_s=stale_after_s, lock_sha256=lock_sha256)
            session.add(run)
            session.flush()
        run.lock_sha256 = run.lock_sha256 or lock_sha256
        if planned_cases is not None and run.planned_cases is None:
            run.planned_cases = list(planned_cases)
        token = run.token or new_token()  # a run opened before runs had tokens gets one
        run.token = token
        return RunRef(run.id, run.dag_id, run.run_id, token)


RunAddress = RunRef | int  # a night's own run, or (tools, tests) a key of this database


def _own_run(session: Session, run: RunAddress) -> Run:
    """The run's row, after checking that it is still the night's own (see RunRef)."""
    if isinstance(run, int):
        row = session.get(Run, run)
        if row is None:
            raise NotFound(f"no run with id {run}")
        return row
    row = session.get(Run, run.pk)
    if row is None:
        raise run.replaced(gone=True)
    if (row.dag_id, row.run_id, row.token) != (run.dag_id, run.run_id, run.token):
        raise run.replaced(gone=False)
    return row


def pk_of(run: RunAddress) -> int:
    return run if isinstance(run, int) else run.pk


def check_run(engine: Engine, run: RunAddress) -> None:
    """Raise RunReplaced unless the run is still the night's own; a heartbeat besides."""
    with _session(engine) as session, session.begin():
        _own_run(session, run).heartbeat_at = _now()


def beat(engine: Engine, run: RunRef) -> bool:
    """The night's process is alive; False (nothing written) when the run is not its own."""
    with _session(engine) as session, session.begin():
        updated = session.execute(
            update(Run)
            .where(Run.id == run.pk, Run.dag_id == run.dag_id, Run.run_id == run.run_id,
                   Run.token == run.token)
            .values(heartbeat_at=_now()))
        return bool(getattr(updated, "rowcount", 0))


def find_run_pk(engine: Engine, *, dag_id: str, run_id: str) -> int | None:
    with _session(engine) as session:
        return session.scalar(select(Run.id).where(Run.dag_id == dag_id, Run.run_id == run_id))


def find_own_run(engine: Engine, *, dag_id: str, run_id: str) -> RunRef | None:
    """The identity of the run (dag_id, run_id) in this database, if it has one."""
    with _session(engine) as session:
        row = session.scalar(select(Run).where(Run.dag_id == dag_id, Run.run_id == run_id))
        if row is None or row.token is None:
            return None
        return RunRef(row.id, row.dag_id, row.run_id, row.token)


# the note of a run closed because a later run of its DAG opened (segtasks.store.night_plan)
SUPERSEDED_NOTE = "closed when run "


def finish_run(engine: Engine, run: RunAddress, state: str,
               unfinished: list[str] | None = None) -> None:
    """Close the run as `state`. `unfinished`: what did not finish, one line each (None:
    the planned cases with no stored result, when the night did not end complete)."""
    with _session(engine) as session, session.begin():
        row = _own_run(session, run)
        closed_by_another = row.state == "abandoned" or (
            row.state != "running" and any(n.startswith(SUPERSEDED_NOTE)
                                           for n in row.notes or []))
        if closed_by_another and state != row.state:
            # taken for dead (paused, or cut off from the database, longer than its budget)
            # and back: its state is how it ended, and the notes keep both sides of the story
            row.notes = [*(row.notes or []), f"came back after it was closed as {row.state}, "
                                             f"and finished as {state}"]
        if unfinished is None and state not in run_states.COMPLETE:
            unfinished = unmeasured(session, row)
        row.state, row.finished_at = state, _now()
        row.unfinished = list(unfinished or []) or None


def unmeasured(session: Session, row: Run) -> list[str]:
    """The planned cases of a run with no stored result, one line each (runs opened before
    the plan was recorded have none)."""
    if not row.planned_cases:
        return []
    stored = set(session.scalars(select(Result.case_key).where(Result.run_pk == row.id)))
    return [f"{key}: not measured (no result stored)" for key in row.planned_cases
            if key not in stored]


@dataclass(frozen=True)
class Abandoned:
    run_pk: int
    run_id: str
    reason: str


def reap_abandoned(engine: Engine, *, now: datetime | None = None) -> list[Abandoned]:
    """Close as `abandoned` every running run whose process has been silent for longer than
    its budget (killed outright, its host lost): it would otherwise stay `running` forever.
    The reason is added to the run's notes."""
    now = now or _now()
    closed = []
    with _session(engine) as session, session.begin():
        for run in session.scalars(select(Run).where(Run.state == "running")
                                   .with_for_update(skip_locked=True)):
            last = _aware(run.heartbeat_at or run.started_at)
            budget = run.stale_after_s or DEFAULT_STALE_AFTER_S
            if now - last <= timedelta(seconds=budget):
                continue
            reason = (f"abandoned: no heartbeat since {last:%Y-%m-%d %H:%M:%S} UTC, longer "
                      f"than its budget of {budget:g} s (its process is gone)")
            run.state, run.finished_at = "abandoned", now
            run.notes = [*(run.notes or []), reason]
            run.unfinished = unmeasured(session, run) or None
            closed.append(Abandoned(run.id, run.run_id, reason))
    return closed


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were stored in UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _environment_id(session: Session, fingerprint: dict[str, Any]) -> int | None:
    """The id of this fingerprint's row, created on first sight.

    Parallel bench tasks on one machine share a fingerprint and may race to insert it:
    the unique key settles it, and the loser reads the winner's row.
    """
    if not fingerprint:
        return None
    columns = environment_columns(fingerprint)
    digest = columns["fingerprint_sha256"]
    found = session.scalar(select(Environment.id).where(Environment.fingerprint_sha256 == digest))
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = Environment(first_seen_at=_now(), **columns)
            session.add(row)
        return row.id
    except IntegrityError:
        return session.scalar(
            select(Environment.id).where(Environment.fingerprint_sha256 == digest))


class WriteRefused(Refused):
    """A second write of a case that another attempt stored already."""


def attempt_digest(result: CaseResult) -> str:
    """What makes a measurement this one: the same result written twice (a replayed spool
    file, a retried write) has the same digest; another measurement of the case has not."""
    return hashlib.sha256(json.dumps(result.to_dict(), sort_keys=True, default=str)
                          .encode()).hexdigest()


def save_result(engine: Engine, run: RunAddress, result: CaseResult) -> int:
    """Store the row of (run, case) with its samples, in one transaction, after checking
    that the run is the night's own. Writing the same result again is idempotent; a
    different result of a case already stored is refused (WriteRefused), never a silent
    overwrite of another process's row."""
    case = result.case
    attempt = attempt_digest(result)
    with _session(engine) as session, session.begin():
        own = _own_run(session, run)
        run_pk = own.id
        row = session.scalar(
            select(Result).where(Result.run_pk == run_pk, Result.case_key == result.case.key)
        )
        if row is not None:
            if row.attempt_sha256 == attempt:
                return row.id
            raise WriteRefused(
                f"{case.key} of run {run_pk} is stored already by another attempt (at "
                f"{_aware(row.updated_at):%Y-%m-%d %H:%M:%S} UTC): not overwritten")
        own.heartbeat_at = _now()
        environment_id = _environment_id(session, result.environment)
        keep_reference(session, run_pk, result, environment_id)
        # numpy scalars (np.float64) are not something every DB driver can bind
        values = {name: _plain(value) for name, value in result.columns().items()}
        values.update(
            {name: value for name, value in case.to_dict().items() if name in CASE_COLUMNS},
            status=result.status,
            reason=result.reason,
            warnings=result.warnings,
            updated_at=_now(),
            environment_id=environment_id,
            attempt_sha256=attempt,
        )
        if result.lock_sha256 is not None:  # where the case's key does not name it
            values["lock_sha256"] = result.lock_sha256
        row = Result(run_pk=run_pk, case_key=result.case.key)
        session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        session.flush()
        _add_samples(session, row.id, result, process=0, first_idx=0)
        return row.id


def _add_samples(session: Session, result_id: int, result: CaseResult, *, process: int,
                 first_idx: int) -> None:
    unknown: list[float | None] = [None] * len(PHASES)
    phases: list[Any] = result.phases_ms or [unknown] * len(result.latencies_ms)
    session.add_all(
        Sample(result_id=result_id, idx=first_idx + i, process=process, latency_ms=_plain(ms),
               **{name: _plain(part) for name, part in zip(PHASES, parts, strict=True)})
        for i, (ms, parts) in enumerate(zip(result.latencies_ms, phases, strict=True))
    )


def save_process(engine: Engine, run: RunAddress, result: CaseResult, *, process: int,
                 role: str, seconds: float | None) -> None:
    """Insert or overwrite one measuring process of a case (idempotent on run, case and
    process index); the batches of a process after the first join the case's samples."""
    latency, throughput, validity = result.latency, result.throughput, result.validity
    values = {
        "role": role, "status": result.status, "reason": result.reason,
        "images_per_s": _plain(throughput.images_per_s) if throughput else None,
        "latency_p50_ms": _plain(latency.p50_ms) if latency else None,
        "latency_p90_ms": _plain(latency.p90_ms) if latency else None,
        "ci_rel": _plain(latency.ci_rel) if latency else None,
        "n_batches": latency.n_batches if latency else None,
        "valid": validity.valid if validity else None, "disturbed": result.disturbed,
        "validity_reason": validity.validity_reason if validity else None,
        "seconds": seconds, "created_at": _now(),
    }
    key = result.case.key
    with _session(engine) as session, session.begin():
        own = _own_run(session, run)
        own.heartbeat_at = _now()
        run_pk = own.id
        row = session.scalar(select(Process).where(
            Process.run_pk == run_pk, Process.case_key == key, Process.process == process))
        if row is None:
            row = Process(run_pk=run_pk, case_key=key, process=process)
            session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        if process == 0:
            return
        result_id = session.scalar(select(Result.id).where(Result.run_pk == run_pk,
                                                           Result.case_key == key))
        if result_id is None:
            return
        session.execute(delete(Sample).where(Sample.result_id == result_id,
                                             Sample.process == process))
        last = session.scalar(select(func.max(Sample.idx)).where(Sample.result_id == result_id))
        _add_samples(session, result_id, result, process=process,
                     first_idx=0 if last is None else last + 1)


def processes_of(engine: Engine, run_pk: int) -> dict[str, list[values.Process]]:
    """Every measuring process of the run, per case key, in the order measured."""
    with _session(engine) as session:
        rows = session.scalars(select(Process).where(Process.run_pk == run_pk)
                               .order_by(Process.case_key, Process.process))
        found: dict[str, list[values.Process]] = {}
        for row in rows:
            found.setdefault(row.case_key, []).append(records.process(row))
        return found


def add_notes(engine: Engine, run_pk: RunAddress, notes: list[str]) -> None:
    """Append notes to the run (each once: a retried task does not repeat them)."""
    with _session(engine) as session, session.begin():
        run = _own_run(session, run_pk)
        run.notes = [*(run.notes or []), *(n for n in notes if n not in (run.notes or []))]


def last_verdicts(engine: Engine, tonight: values.Run, series: list[Series]
                  ) -> dict[tuple[str, str | None, str], Verdict]:
    """The newest verdict of each (case, hardware, metric) of these series from a run
    before tonight: whether a regression is new or ongoing."""
    if not series:
        return {}
    newest_first = func.row_number().over(
        partition_by=(Comparison.case_key, Comparison.hardware_key, Comparison.metric),
        order_by=(Run.started_at.desc(), Run.id.desc()))
    ranked = (
        select(Comparison.id.label("id"), newest_first.label("rank"))
        .join(Run, Run.id == Comparison.run_pk)
        .where(tuple_(Comparison.case_key, Comparison.hardware_key).in_(series),
               Run.started_at < tonight.started_at, Run.id != tonight.id,
               Run.excluded.is_(False))
        .subquery()
    )
    with _session(engine) as session:
        rows = session.scalars(select(Comparison).join(ranked, ranked.c.id == Comparison.id)
                               .where(ranked.c.rank == 1))
        return {(c.case_key, c.hardware_key, c.metric): records.verdict(c) for c in rows}


def get_run(engine: Engine, run_pk: int) -> values.Run:
    with _session(engine) as session:
        run = session.get(Run, run_pk)
    if run is None:
        raise NotFound(f"no run with id {run_pk}")
    return records.run(run)


def latest_run_pk(engine: Engine) -> int | None:
    with _session(engine) as session:
        return session.scalar(select(Run.id).order_by(Run.started_at.desc(), Run.id.desc()))


def run_result(engine: Engine, run_pk: int, case_key: str) -> values.Result:
    with _session(engine) as session:
        return records.result(session.scalars(
            select(Result).where(Result.run_pk == run_pk, Result.case_key == case_key)
            .options(selectinload(Result.environment))
        ).one())


def has_result(engine: Engine, run_pk: int, case_key: str) -> bool:
    with _session(engine) as session:
        return session.scalar(select(Result.id).where(
            Result.run_pk == run_pk, Result.case_key == case_key)) is not None


def run_results(engine: Engine, run_pk: int) -> list[values.Result]:
    """The run's results with their environment and batch latencies."""
    with _session(engine) as session:
        return [records.result(row, with_samples=True) for row in session.scalars(
            select(Result).where(Result.run_pk == run_pk)
            .options(selectinload(Result.samples), selectinload(Result.environment))
            .order_by(Result.device, Result.batch_size)
        )]


def series_history(engine: Engine, tonight: values.Run, series: list[Series], limit: int
                   ) -> dict[Series, list[Night]]:
    """The last `limit` good nights of each series before `tonight`, newest first: status
    ok and not disturbed (valid is false when the machine did not leave the case alone;
    NULL, from before validity was recorded, counts as good), leaving out runs marked as
    excluded; one query for every series.

    A series is one case on one hardware key; software versions are deliberately not
    part of it, since a version change is what a comparison should catch.
    """
    if not series:
        return {}
    # an accepted new level: the series' nights before it are not its baseline any more
    level_since = (
        select(BaselineLevel.case_key, BaselineLevel.hardware_key,
               func.max(Run.started_at).label("since"))
        .join(Run, Run.id == BaselineLevel.from_run_pk)
        .where(BaselineLevel.undone_at.is_(None))
        .group_by(BaselineLevel.case_key, BaselineLevel.hardware_key)
        .subquery()
    )
    newest_first = func.row_number().over(
        partition_by=(Result.case_key, Result.hardware_key),
        order_by=(Run.started_at.desc(), Run.id.desc()))
    ranked = (
        select(Result.id.label("result_id"), newest_first.label("rank"))
        .join(Run, Result.run_pk == Run.id)
        .outerjoin(level_since, (level_since.c.case_key == Result.case_key)
                   & (level_since.c.hardware_key == Result.hardware_key))
        .where(
            tuple_(Result.case_key, Result.hardware_key).in_(series),
            Result.status == "ok",
            Result.valid.is_not(False),
            Run.started_at < tonight.started_at,
            Run.id != tonight.id,
            Run.excluded.is_(False),
            (level_since.c.since.is_(None)) | (Run.started_at >= level_since.c.since),
        )
        .subquery()
    )
    night_result = aliased(Result)
    with _session(engine) as session:
        rows = session.execute(
            select(Run.id, Run.started_at, Run.code_version, night_result)
            .join(night_result, night_result.run_pk == Run.id)
            .join(ranked, ranked.c.result_id == night_result.id)
            .where(ranked.c.rank <= limit)
            .options(selectinload(night_result.environment))
            .order_by(Run.started_at.desc(), Run.id.desc())
        ).all()
        pairs = [(run_pk, result.case_key) for run_pk, _, _, result in rows]
        processes: dict[tuple[int, str], list[values.Process]] = {}
        if pairs:
            for row in session.scalars(select(Process).where(
                    tuple_(Process.run_pk, Process.case_key).in_(pairs))
                    .order_by(Process.process)):
                processes.setdefault((row.run_pk, row.case_key), []).append(
                    records.process(row))
        history: dict[Series, list[Night]] = {key: [] for key in series}
        for run_pk, started_at, code_version, result in rows:
            history[(result.case_key, result.hardware_key)].append(
                Night(run_pk, started_at, code_version, records.result(result),
                      processes.get((run_pk, result.case_key), [])))
    return history


def previous_run(engine: Engine, tonight: values.Run) -> values.Run | None:
    """The run of the same DAG just before this one, excluded runs left out."""
    with _session(engine) as session:
        found = session.scalars(
            select(Run).where(Run.dag_id == tonight.dag_id, Run.id != tonight.id,
                              Run.started_at < tonight.started_at, Run.excluded.is_(False))
            .order_by(Run.started_at.desc()).limit(1)
        ).first()
        return None if found is None else records.run(found)


def samples_of(engine: Engine, result_id: int) -> list[float]:
    with _session(engine) as session:
        return list(session.scalars(
            select(Sample.latency_ms).where(Sample.result_id == result_id).order_by(Sample.idx)))


def find_run(engine: Engine, run: str) -> values.Run:
    """A run by its numeric id or its Airflow run id; NotFound names the nearest ones."""
    with _session(engine) as session:
        found = session.scalars(select(Run).where(Run.run_id == run)).first()
        if found is None and run.isdigit():
            found = session.get(Run, int(run))
        if found is None:
            known = [str(pk) for pk in session.scalars(select(Run.id))]
            known += session.scalars(select(Run.run_id)).all()
            raise NotFound(f"no run with id or run_id {run!r}{nearest(run, known)}")
        return records.run(found)


def check_series(engine: Engine, case_key: str, hardware_key: str | None) -> None:
    """Refuse (NotFound) a case key, or a hardware key for it, with no stored series: a
    typo would store a curation that matches nothing. The message names the nearest."""
    with _session(engine) as session:
        if session.scalar(select(Result.id).where(Result.case_key == case_key).limit(1)) is None:
            known = session.scalars(select(Result.case_key).distinct()).all()
            raise NotFound(f"no stored series has case key {case_key!r}"
                           f"{nearest(case_key, known)}")
        if hardware_key is None:
            return
        hardware = session.scalars(select(Result.hardware_key).distinct()
                                   .where(Result.case_key == case_key)).all()
        if hardware_key not in hardware:
            raise NotFound(f"{case_key} has no stored series on hardware {hardware_key!r}"
                           f"{nearest(hardware_key, hardware)}")


def set_excluded(engine: Engine, run_pk: int, excluded: bool, reason: str | None,
                 by: str | None = None) -> None:
    with _session(engine) as session, session.begin():
        run = session.get_one(Run, run_pk)
        run.excluded = excluded
        run.excluded_reason = reason
        run.excluded_at = _now() if excluded else None
        run.excluded_by = by if excluded else None


def accept_level(engine: Engine, *, case_key: str, hardware_key: str | None,
                 from_run: values.Run, reason: str, by: str) -> values.BaselineLevel:
    """Declare that `case_key` changed on purpose from `from_run` on; its nights before that
    run stop counting as baseline. The hardware defaults to the one that run measured it on.
    A case or hardware key with no stored series is refused (check_series)."""
    check_series(engine, case_key, hardware_key)
    with _session(engine) as session, session.begin():
        measured = session.scalars(select(Result.hardware_key).where(
            Result.run_pk == from_run.id, Result.case_key == case_key)).all()
        if hardware_key is None:
            if not measured:
                raise NotFound(f"run {from_run.id} ({from_run.run_id}) did not measure "
                               f"{case_key}: name the series' hardware with --hardware")
            hardware_key = measured[0]
        level = BaselineLevel(case_key=case_key, hardware_key=hardware_key,
                              from_run_pk=from_run.id, reason=reason, accepted_by=by,
                              accepted_at=_now())
        session.add(level)
        session.flush()
        return records.level(level, from_run)


def undo_level(engine: Engine, level_id: int, by: str) -> values.BaselineLevel:
    with _session(engine) as session, session.begin():
        level = session.get(BaselineLevel, level_id)
        if level is None:
            known = session.scalars(select(BaselineLevel.id)).all()
            raise NotFound(f"no accepted baseline level with id {level_id}"
                           f"{nearest(str(level_id), map(str, known), 'stored ids')}")
        if level.undone_at is not None:
            raise Refused(f"baseline level {level_id} was already undone by "
                          f"{level.undone_by} at {level.undone_at:%Y-%m-%d %H:%M}")
        level.undone_by, level.undone_at = by, _now()
        return records.level(level)


def baseline_levels(engine: Engine, *, case_key: str | None = None,
                    include_undone: bool = False) -> list[values.BaselineLevel]:
    """Accepted levels, newest first, with the run each starts from."""
    query = select(BaselineLevel).options(selectinload(BaselineLevel.from_run))
    if case_key is not None:
        query = query.where(BaselineLevel.case_key == case_key)
    if not include_undone:
        query = query.where(BaselineLevel.undone_at.is_(None))
    with _session(engine) as session:
        return [records.level(row) for row in session.scalars(
            query.order_by(BaselineLevel.accepted_at.desc(), BaselineLevel.id.desc()))]


def save_comparisons(engine: Engine, run: RunAddress, verdicts: Iterable[Verdict]) -> None:
    """Replace the run's verdicts: judging a run twice leaves one set, the latest."""
    with _session(engine) as session, session.begin():
        run_pk = _own_run(session, run).id
        session.execute(delete(Comparison).where(Comparison.run_pk == run_pk))
        session.add_all(Comparison(run_pk=run_pk, created_at=_now(),
                                   **records.comparison_columns(v)) for v in verdicts)


def run_comparisons(engine: Engine, run_pk: int) -> list[Verdict]:
    with _session(engine) as session:
        return [records.verdict(row) for row in session.scalars(
            select(Comparison).where(Comparison.run_pk == run_pk).order_by(Comparison.id)
        )]


def set_parity_ok(engine: Engine, decided: dict[int, bool | None]) -> None:
    """Store the judge's word on each result's outputs (None: not checked)."""
    if not decided:
        return
    with _session(engine) as session, session.begin():
        for row in session.scalars(select(Result).where(Result.id.in_(decided))):
            row.parity_ok = decided[row.id]
