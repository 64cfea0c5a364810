"""What a paired night reads of earlier nights before it measures: the lock of the baseline
night of a case (its control), and the spread of the case's earlier pairs (how many pairs
tonight needs)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from sqlalchemy import Engine, func, select

from segtasks.errors import NotFound
from segtasks.store.repository import _session
from segtasks.store.schema import Pair, Result, Run


def _tonight(session, run_pk: int) -> Run:  # type: ignore[no-untyped-def]
    tonight = session.get(Run, run_pk)
    if tonight is None:
        raise NotFound(f"no run with id {run_pk}")
    return tonight


def baseline_lock(engine: Engine, case_key: str, before_run_pk: int) -> str | None:
    """The lock of the newest good night before `before_run_pk` that measured the case:
    its result ok and not disturbed, its run not excluded, and a lock recorded (the
    result's own, else its night's). None when no such night recorded one (nights from
    before locks were kept)."""
    lock = func.coalesce(Result.lock_sha256, Run.lock_sha256)
    with _session(engine) as session:
        tonight = _tonight(session, before_run_pk)
        return session.scalar(
            select(lock).join(Run, Run.id == Result.run_pk)
            .where(Result.case_key == case_key, Result.status == "ok",
                   Result.valid.is_not(False), Run.excluded.is_(False),
                   Run.started_at < tonight.started_at, Run.id != tonight.id,
                   lock.is_not(None))
            .order_by(Run.started_at.desc(), Run.id.desc()).limit(1))


def paired_log_sd(engine: Engine, case_key: str, before_run_pk: int, limit: int
                  ) -> float | None:
    """The spread of the case's paired log ratios, log(treatment / control) of images/s,
    over its newest `limit` earlier nights with pairs: each night's ratios around their
    own mean (the software compared differs from night to night, the noise does not),
    pooled. None with fewer than two ratios beyond one per night."""
    with _session(engine) as session:
        tonight = _tonight(session, before_run_pk)
        runs = session.scalars(
            select(Run.id).join(Pair, Pair.run_pk == Run.id)
            .where(Pair.case_key == case_key, Run.excluded.is_(False),
                   Run.started_at < tonight.started_at, Run.id != tonight.id)
            .group_by(Run.id, Run.started_at)
            .order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)).all()
        if not runs:
            return None
        rows = session.execute(
            select(Pair.run_pk, Pair.pair, Pair.side, Pair.images_per_s)
            .where(Pair.run_pk.in_(runs), Pair.case_key == case_key, Pair.status == "ok",
                   Pair.valid.is_not(False), Pair.images_per_s > 0)).all()
    sides: dict[tuple[int, int], dict[str, float]] = defaultdict(dict)
    for run_pk, pair, side, value in rows:
        if value is not None:  # the query asks for > 0: never None, but typed so
            sides[(run_pk, pair)][side] = value
    ratios: dict[int, list[float]] = defaultdict(list)
    for (run_pk, _), found in sides.items():
        if len(found) == 2:
            ratios[run_pk].append(math.log(found["treatment"] / found["control"]))
    squares, freedom = 0.0, 0
    for night in ratios.values():
        if len(night) > 1:
            mean = statistics.fmean(night)
            squares += sum((d - mean) ** 2 for d in night)
            freedom += len(night) - 1
    return math.sqrt(squares / freedom) if freedom >= 2 else None
