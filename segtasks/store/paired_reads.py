"""Reading paired nights back (the tables `pairs` and `paired_verdicts`, which
segtasks.pairs writes): the report, the pages and the alerts take these frozen values
(segtasks.domain.paired), never an ORM row.

Each function takes an engine, or a session the caller already holds (its reads then join
the caller's transaction).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from segtasks.domain import paired as values
from segtasks.store.schema import Pair, PairedVerdict, Run


@contextmanager
def _reading(source: Engine | Session) -> Iterator[Session]:
    if isinstance(source, Session):
        yield source
        return
    with Session(source, expire_on_commit=False) as session:
        yield session


def paired_verdict(row: PairedVerdict) -> values.PairedVerdict:
    return values.PairedVerdict(
        case_key=row.case_key, hardware_key=row.hardware_key, metric=row.metric,
        control_lock=row.control_lock, treatment_lock=row.treatment_lock,
        mode=values.PairMode(row.mode), pairs=row.pairs, verdict=row.verdict,
        ratio=row.ratio, ci_low=row.ci_low, ci_high=row.ci_high, p_value=row.p_value,
        mde=row.mde, min_effect=row.min_effect, machine_verdict=row.machine_verdict,
        machine_change=row.machine_change, machine_detail=row.machine_detail,
        packages_changed=tuple(row.packages_changed or ()), detail=row.detail,
        budget_s=row.budget_s, spent_s=row.spent_s, run_pk=row.run_pk)


def pair_side(row: Pair) -> values.PairSide:
    return values.PairSide(
        pair=row.pair, position=row.position, side=values.Side(row.side),
        lock_sha256=row.lock_sha256, mode=values.PairMode(row.mode), status=row.status,
        reason=row.reason, images_per_s=row.images_per_s, latency_p50_ms=row.latency_p50_ms,
        ci_rel=row.ci_rel, n_batches=row.n_batches, valid=row.valid,
        cpu_affinity=tuple(row.cpu_affinity or ()), seconds=row.seconds)


def paired_verdicts_of_run(source: Engine | Session, run_pk: int) -> list[values.PairedVerdict]:
    """The night's paired verdicts, by case and metric; empty for a night without pairs."""
    with _reading(source) as session:
        return [paired_verdict(row) for row in session.scalars(
            select(PairedVerdict).where(PairedVerdict.run_pk == run_pk)
            .order_by(PairedVerdict.case_key, PairedVerdict.metric))]


def _pair_rows(session: Session, run_pk: int, case_key: str | None) -> list[Pair]:
    query = select(Pair).where(Pair.run_pk == run_pk)
    if case_key is not None:
        query = query.where(Pair.case_key == case_key)
    # a duet's two sides share position 0: the control first, then the treatment
    return list(session.scalars(query.order_by(Pair.case_key, Pair.pair, Pair.position,
                                               Pair.side)))


def pairs_of_run(source: Engine | Session, run_pk: int, case_key: str | None = None
                 ) -> list[values.PairSide]:
    """Every measuring process of the night's pairs (of one case, when named), ordered by
    case, pair and position in the pair (the order they ran in). A PairSide does not name
    its case: `pairs_by_case` keeps them apart for a night of several cases."""
    with _reading(source) as session:
        return [pair_side(row) for row in _pair_rows(session, run_pk, case_key)]


def pairs_by_case(source: Engine | Session, run_pk: int) -> dict[str, list[values.PairSide]]:
    """`pairs_of_run` of every case, by case key (in case order)."""
    found: dict[str, list[values.PairSide]] = {}
    with _reading(source) as session:
        for row in _pair_rows(session, run_pk, None):
            found.setdefault(row.case_key, []).append(pair_side(row))
    return found


def run_lock(source: Engine | Session, run_pk: int) -> str | None:
    """The lock (sha256) the night ran in; None for nights before locks were recorded."""
    with _reading(source) as session:
        return session.scalar(select(Run.lock_sha256).where(Run.id == run_pk))


def paired_history(source: Engine | Session, case_key: str, hardware_key: str | None,
                   limit: int, *, metric: str | None = None) -> list[values.PairedVerdict]:
    """The paired verdicts of one series (case x hardware), newest night first, at most
    `limit`; of one metric when named. Each carries its run_pk."""
    query = (select(PairedVerdict).join(Run, Run.id == PairedVerdict.run_pk)
             .where(PairedVerdict.case_key == case_key,
                    PairedVerdict.hardware_key.is_not_distinct_from(hardware_key)))
    if metric is not None:
        query = query.where(PairedVerdict.metric == metric)
    with _reading(source) as session:
        return [paired_verdict(row) for row in session.scalars(
            query.order_by(Run.started_at.desc(), Run.id.desc(), PairedVerdict.metric)
            .limit(limit))]
