"""Which two nights the compare page shows when nobody picked: the latest finished night
(B) against the latest earlier finished night that measured the same cases (A).

Finished means it ran to its end and was judged (`success`, or `regressed`): a running
night has half its cases, a failed or abandoned one lacks some or measured them broken, so
either would fill the page with "absent -> ok". The same cases (case and hardware) keep
every row a comparison; where no earlier finished night has them all, the one sharing the
most (the latest of those) is taken.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session

from segtasks.domain import records as values
from segtasks.store.schema import Result, Run

FINISHED = ("success", "regressed")  # the states a night ends in once judged
BATCH = 50  # earlier nights read at a time
LOOK_BACK = 400  # nights searched for the same cases: more than a year of nightly runs

Cases = frozenset[tuple[str, str | None]]


def latest_finished_pk(engine: Engine) -> int | None:
    with Session(engine) as session:
        return session.scalar(select(Run.id).where(Run.state.in_(FINISHED))
                              .order_by(Run.started_at.desc(), Run.id.desc()).limit(1))


def _cases(session: Session, run_pks: Sequence[int]) -> dict[int, Cases]:
    found: dict[int, set[tuple[str, str | None]]] = defaultdict(set)
    for run_pk, case_key, hardware_key in session.execute(
            select(Result.run_pk, Result.case_key, Result.hardware_key)
            .where(Result.run_pk.in_(run_pks))):
        found[run_pk].add((case_key, hardware_key))
    return {pk: frozenset(found.get(pk, ())) for pk in run_pks}


def earlier_finished_pk(engine: Engine, run: values.Run) -> int | None:
    """The latest finished night before `run` with the same cases, else the one sharing
    the most of them (the latest of those); None when no earlier night finished."""
    earlier = and_(Run.state.in_(FINISHED), Run.id != run.id,
                   or_(Run.started_at < run.started_at,
                       and_(Run.started_at == run.started_at, Run.id < run.id)))
    best: tuple[int, int] | None = None  # (shared cases, run pk), the latest first
    with Session(engine) as session:
        wanted = _cases(session, [run.id])[run.id]
        for offset in range(0, LOOK_BACK, BATCH):
            pks = list(session.scalars(select(Run.id).where(earlier)
                                       .order_by(Run.started_at.desc(), Run.id.desc())
                                       .limit(BATCH).offset(offset)))
            cases = _cases(session, pks)
            for pk in pks:  # newest first
                if cases[pk] == wanted:
                    return pk
                shared = len(cases[pk] & wanted)
                if best is None or shared > best[0]:
                    best = (shared, pk)
            if len(pks) < BATCH:
                break
    return None if best is None else best[1]
