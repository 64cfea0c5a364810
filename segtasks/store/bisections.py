"""Reading and writing bisections: the tables `bisections` and `bisection_steps`.

segtasks.bisect writes them as it goes, so that a bisection stopped halfway (a task
killed, a budget spent) resumes where it was: `start_bisection` finds the row of the same
run, case, metric and locks (or makes it), `add_step` is idempotent per step number, and
`finish_bisection` writes the outcome. Readers get the frozen values of
segtasks.domain.bisection, never an ORM row.

The run is named as every other write names it (segtasks.store.repository.RunAddress): a
night's RunRef, checked to be still the night's own, or a bare run id for a bisection
started later from the command line on a stored night.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from segtasks.domain import bisection as values
from segtasks.domain.bisection import BisectionKind, BisectionOutcome, ChangeGroup
from segtasks.errors import NotFound
from segtasks.store.repository import RunAddress, _now, _own_run, _plain, _session
from segtasks.store.schema import Bisection, BisectionStep

_STEP = ("step", "lock_sha256", "verdict", "pairs", "ratio", "ci_low", "ci_high", "mde",
         "seconds", "reason")
# what finish_bisection writes over the row start_bisection made
_FINISH = ("outcome", "effect_ratio", "effect_ci_low", "effect_ci_high", "min_effect",
           "confidence", "detail", "budget_s", "spent_s")


def culprit_changes(b: values.Bisection) -> str | None:
    """The culprit's changes as one text, for SQL readers: a group's changes joined by ", ",
    groups (together, or several) by " + "; None without a culprit."""
    if not b.culprit:
        return None
    return " + ".join(", ".join(b.group(i).changes) for i in b.culprit)


def _groups(groups: Iterable[ChangeGroup]) -> list[dict[str, Any]]:
    return [{"index": g.index, "changes": list(g.changes), "packages": list(g.packages),
             "commit": g.commit} for g in groups]


def _row_values(b: values.Bisection) -> dict[str, Any]:
    found = {name: _plain(getattr(b, name)) for name in _FINISH}
    return {**found, "kind": str(b.kind), "outcome": str(b.outcome),
            "culprit": list(b.culprit), "culprit_changes": culprit_changes(b),
            "groups": _groups(b.groups), "extra": dict(b.extra) or None}


def _key(run_pk: int, b: values.Bisection) -> Any:
    return select(Bisection).where(
        Bisection.run_pk == run_pk, Bisection.case_key == b.case_key,
        Bisection.metric == b.metric, Bisection.control_lock == b.control_lock,
        Bisection.treatment_lock == b.treatment_lock)


def _write_step(session: Session, bisection_pk: int, step: values.BisectionStep) -> None:
    row = session.scalar(select(BisectionStep).where(
        BisectionStep.bisection_pk == bisection_pk, BisectionStep.step == step.step))
    if row is None:
        row = BisectionStep(bisection_pk=bisection_pk)
        session.add(row)
    for name in _STEP:
        setattr(row, name, _plain(getattr(step, name)))
    row.verdict = str(step.verdict)
    row.moved = sorted(step.moved)
    row.created_at = _now()


def start_bisection(engine: Engine, run: RunAddress, b: values.Bisection) -> int:
    """The id of the bisection of (run, case, metric, control lock, treatment lock): the
    stored one when there is one, finished or not (its steps stay, to be resumed from),
    else a new row from `b` (with any steps `b` already holds). The caller tells a finished
    one by reading it back (`bisection_of`: `running` is False)."""
    for _ in range(2):  # a second try reads the row another process inserted meanwhile
        try:
            with _session(engine) as session, session.begin():
                run_pk = _own_run(session, run).id
                found = session.scalar(_key(run_pk, b))
                if found is not None:
                    return found.id
                row = Bisection(run_pk=run_pk, case_key=b.case_key,
                                hardware_key=b.hardware_key, metric=b.metric,
                                control_lock=b.control_lock, treatment_lock=b.treatment_lock,
                                created_at=_now(), finished_at=None, **_row_values(b))
                session.add(row)
                session.flush()
                for step in b.steps:
                    _write_step(session, row.id, step)
                return row.id
        except IntegrityError:
            continue
    raise AssertionError("the bisection's row was neither found nor inserted")


def _own_bisection(session: Session, bisection_pk: int) -> Bisection:
    row = session.get(Bisection, bisection_pk)
    if row is None:
        raise NotFound(f"no bisection with id {bisection_pk}")
    return row


def add_step(engine: Engine, bisection_pk: int, step: values.BisectionStep) -> None:
    """Insert or overwrite one step (idempotent on its number: a step measured again after
    a resume leaves one row, the latest)."""
    with _session(engine) as session, session.begin():
        _own_bisection(session, bisection_pk)
        _write_step(session, bisection_pk, step)


def finish_bisection(engine: Engine, bisection_pk: int, b: values.Bisection) -> None:
    """Write the outcome, culprit, groups, effect and time spent, and any of `b`'s steps
    not stored yet; the row is finished from now on (finishing again overwrites it)."""
    with _session(engine) as session, session.begin():
        row = _own_bisection(session, bisection_pk)
        for name, value in _row_values(b).items():
            setattr(row, name, value)
        for step in b.steps:
            _write_step(session, bisection_pk, step)
        row.finished_at = _now()


def _step(row: BisectionStep) -> values.BisectionStep:
    return values.BisectionStep(moved=tuple(row.moved or ()),
                                **{name: getattr(row, name) for name in _STEP})


def _group(found: dict[str, Any]) -> ChangeGroup:
    return ChangeGroup(index=int(found["index"]), changes=tuple(found.get("changes") or ()),
                       packages=tuple(found.get("packages") or ()), commit=found.get("commit"))


def _step_rows(session: Session, bisection_pk: int) -> list[BisectionStep]:
    return list(session.scalars(select(BisectionStep)
                                .where(BisectionStep.bisection_pk == bisection_pk)
                                .order_by(BisectionStep.step)))


def _bisection(session: Session, row: Bisection) -> values.Bisection:
    return values.Bisection(
        case_key=row.case_key, hardware_key=row.hardware_key, metric=row.metric,
        control_lock=row.control_lock, treatment_lock=row.treatment_lock,
        kind=BisectionKind(row.kind), outcome=BisectionOutcome(row.outcome),
        groups=tuple(_group(g) for g in row.groups or ()),
        steps=tuple(_step(s) for s in _step_rows(session, row.id)),
        culprit=tuple(row.culprit or ()), effect_ratio=row.effect_ratio,
        effect_ci_low=row.effect_ci_low, effect_ci_high=row.effect_ci_high,
        min_effect=row.min_effect, confidence=row.confidence, detail=row.detail,
        budget_s=row.budget_s, spent_s=row.spent_s, run_pk=row.run_pk,
        extra=dict(row.extra or {}), running=row.finished_at is None)


def steps_of(engine: Engine, bisection_pk: int) -> list[values.BisectionStep]:
    """The bisection's steps in the order measured."""
    with _session(engine) as session:
        return [_step(row) for row in _step_rows(session, bisection_pk)]


def bisection_of(engine: Engine, bisection_pk: int) -> values.Bisection:
    """One bisection with its groups and steps (`running` while it has not finished)."""
    with _session(engine) as session:
        return _bisection(session, _own_bisection(session, bisection_pk))


def bisections_of_run(source: Engine | Session, run_pk: int) -> list[values.Bisection]:
    """The night's bisections, by case and metric, then in the order they started; from an
    engine, or in a session the caller holds (the report's reads share its transaction)."""
    query = (select(Bisection).where(Bisection.run_pk == run_pk)
             .order_by(Bisection.case_key, Bisection.metric, Bisection.id))
    if isinstance(source, Session):
        return [_bisection(source, row) for row in source.scalars(query)]
    with _session(source) as session:
        return [_bisection(session, row) for row in session.scalars(query)]


def latest_bisection(engine: Engine, run_pk: int, case_key: str,
                     metric: str = "images_per_s") -> values.Bisection | None:
    """The case's bisection of that run started last (a run bisects a case once per pair
    of locks), or None."""
    with _session(engine) as session:
        row = session.scalar(select(Bisection).where(
            Bisection.run_pk == run_pk, Bisection.case_key == case_key,
            Bisection.metric == metric).order_by(Bisection.id.desc()).limit(1))
        return None if row is None else _bisection(session, row)


def earlier_bisection(engine: Engine, case_key: str, control_lock: str, treatment_lock: str,
                      *, before_run: int, metric: str = "images_per_s"
                      ) -> values.Bisection | None:
    """The newest finished bisection of the same case and the same two locks on a run
    before `before_run` (an ongoing regression between the same environments has the same
    culprit: the night quotes it instead of bisecting again), or None. An inconclusive or
    failed one does not count: tonight may have the budget to tell."""
    with _session(engine) as session:
        row = session.scalar(select(Bisection).where(
            Bisection.case_key == case_key, Bisection.metric == metric,
            Bisection.control_lock == control_lock,
            Bisection.treatment_lock == treatment_lock, Bisection.run_pk < before_run,
            Bisection.finished_at.is_not(None),
            Bisection.outcome.in_(("culprit", "together", "several")),
        ).order_by(Bisection.run_pk.desc(), Bisection.id.desc()).limit(1))
        return None if row is None else _bisection(session, row)
