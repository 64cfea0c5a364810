"""Reading and writing paired nights: the `pairs` and `paired_verdicts` tables.

Writes name the night's run by identity (segtasks.store.identity.RunRef), checked in the
write's own transaction, as every other write of a night (segtasks.store.repository), and
are idempotent: a side is one row per (run, case, pair, side), a verdict one row per (run,
case, metric); writing again overwrites it with the same or the newer values.
"""

from __future__ import annotations

import statistics
from dataclasses import fields
from typing import Any

from sqlalchemy import Engine, and_, exists, or_, select

from segtasks.domain import paired as values
from segtasks.domain.paired import PairMode, Side
from segtasks.errors import NotFound, UsageError
from segtasks.store.repository import RunAddress, _now, _own_run, _plain, _session
from segtasks.store.schema import Pair, PairedVerdict, Result, Run

# the values a side stores, and so the metrics a control series can be read for
SIDE_METRICS = ("images_per_s", "latency_p50_ms")
_SIDE = tuple(f.name for f in fields(values.PairSide))
_VERDICT = tuple(f.name for f in fields(values.PairedVerdict) if f.name != "run_pk")


def _side_columns(side: values.PairSide) -> dict[str, Any]:
    row = {name: _plain(getattr(side, name)) for name in _SIDE}
    return {**row, "side": str(side.side), "mode": str(side.mode),
            "cpu_affinity": list(side.cpu_affinity)}


def save_pair_side(engine: Engine, run: RunAddress, case_key: str,
                   side: values.PairSide) -> None:
    """Insert or overwrite one side of one pair of a case (idempotent on run, case, pair
    and side), after checking that the run is the night's own."""
    columns = _side_columns(side)
    with _session(engine) as session, session.begin():
        own = _own_run(session, run)
        own.heartbeat_at = _now()
        row = session.scalar(select(Pair).where(
            Pair.run_pk == own.id, Pair.case_key == case_key, Pair.pair == side.pair,
            Pair.side == str(side.side)))
        if row is None:
            row = Pair(run_pk=own.id, case_key=case_key)
            session.add(row)
        for name, value in columns.items():
            setattr(row, name, value)
        row.created_at = _now()


def save_paired_verdict(engine: Engine, run: RunAddress, v: values.PairedVerdict) -> None:
    """Insert or overwrite the paired verdict of (run, case, metric): judging a case twice
    leaves one, the latest."""
    columns = {name: _plain(getattr(v, name)) for name in _VERDICT}
    columns.update(mode=str(v.mode), verdict=str(v.verdict),
                   machine_verdict=None if v.machine_verdict is None else str(v.machine_verdict),
                   packages_changed=list(v.packages_changed))
    with _session(engine) as session, session.begin():
        own = _own_run(session, run)
        own.heartbeat_at = _now()
        row = session.scalar(select(PairedVerdict).where(
            PairedVerdict.run_pk == own.id, PairedVerdict.case_key == v.case_key,
            PairedVerdict.metric == v.metric))
        if row is None:
            row = PairedVerdict(run_pk=own.id)
            session.add(row)
        for name, value in columns.items():
            setattr(row, name, value)
        row.created_at = _now()


def _pair_side(row: Pair) -> values.PairSide:
    found = {name: getattr(row, name) for name in _SIDE}
    return values.PairSide(**{**found, "side": Side(row.side), "mode": PairMode(row.mode),
                              "cpu_affinity": tuple(row.cpu_affinity or ())})


def _paired_verdict(row: PairedVerdict) -> values.PairedVerdict:
    found = {name: getattr(row, name) for name in _VERDICT}
    return values.PairedVerdict(**{**found, "mode": PairMode(row.mode),
                                   "packages_changed": tuple(row.packages_changed or ()),
                                   "run_pk": row.run_pk})


def pair_sides(engine: Engine, run_pk: int, case_key: str | None = None
               ) -> list[values.PairSide]:
    """The run's pair sides (of one case, or all), in the order measured: by case, pair
    and position (a duet's two sides, both at position 0, control first)."""
    query = select(Pair).where(Pair.run_pk == run_pk)
    if case_key is not None:
        query = query.where(Pair.case_key == case_key)
    with _session(engine) as session:
        rows = session.scalars(query.order_by(Pair.case_key, Pair.pair, Pair.position,
                                              Pair.side))
        return [_pair_side(row) for row in rows]


def paired_verdicts(engine: Engine, run_pk: int) -> list[values.PairedVerdict]:
    with _session(engine) as session:
        return [_paired_verdict(row) for row in session.scalars(
            select(PairedVerdict).where(PairedVerdict.run_pk == run_pk)
            .order_by(PairedVerdict.case_key, PairedVerdict.metric))]


def _matches(column: Any, value: str | None) -> Any:
    return column.is_(None) if value is None else column == value


def control_series(engine: Engine, case_key: str, hardware_key: str | None,
                   lock_sha256: str, before_run_pk: int, limit: int, *,
                   metric: str = "images_per_s",
                   mode: PairMode = PairMode.INTERLEAVED) -> list[tuple[int, float]]:
    """Earlier nights of the case measured in the lock `lock_sha256` on this hardware,
    newest first, at most `limit`: (run_pk, the median of the night's values). A night
    counts with its control sides of pairs in `mode` (a duet's sides ran on half the
    cores: only duets compare with duets), or, for interleaved pairs, with its result row
    when the whole night ran in that lock (`results.lock_sha256`, no pairs). Sides and
    results that failed or were disturbed are left out, and so are excluded runs and runs
    that started after `before_run_pk`'s."""
    if metric not in SIDE_METRICS:
        raise UsageError(f"pairs store {', '.join(SIDE_METRICS)}, not {metric!r}")
    mode = PairMode(mode)
    with _session(engine) as session:
        tonight = session.get(Run, before_run_pk)
        if tonight is None:
            raise NotFound(f"no run with id {before_run_pk}")
        earlier = and_(Run.started_at < tonight.started_at, Run.id != tonight.id,
                       Run.excluded.is_(False))
        # a pair row has no hardware key: its night's verdict or result row of the case has
        on_hardware = or_(
            exists().where(PairedVerdict.run_pk == Pair.run_pk,
                           PairedVerdict.case_key == Pair.case_key,
                           _matches(PairedVerdict.hardware_key, hardware_key)),
            exists().where(Result.run_pk == Pair.run_pk, Result.case_key == Pair.case_key,
                           _matches(Result.hardware_key, hardware_key)))
        value = getattr(Pair, metric)
        sides = session.execute(
            select(Run.id, Run.started_at, value).join(Pair, Pair.run_pk == Run.id).where(
                earlier, Pair.case_key == case_key, Pair.side == str(Side.CONTROL),
                Pair.lock_sha256 == lock_sha256, Pair.mode == str(mode),
                Pair.status == "ok", Pair.valid.is_not(False), value.is_not(None),
                on_hardware)).all()
        nights: dict[int, tuple[Any, list[float]]] = {}
        for run_pk, started_at, v in sides:
            nights.setdefault(run_pk, (started_at, []))[1].append(v)
        if mode == PairMode.INTERLEAVED:
            result_value = getattr(Result, metric)
            for run_pk, started_at, v in session.execute(
                    select(Run.id, Run.started_at, result_value)
                    .join(Result, Result.run_pk == Run.id).where(
                        earlier, Result.case_key == case_key,
                        _matches(Result.hardware_key, hardware_key),
                        Result.lock_sha256 == lock_sha256, Result.status == "ok",
                        Result.valid.is_not(False), result_value.is_not(None))):
                nights.setdefault(run_pk, (started_at, [v]))  # its pairs, if it had some
    newest_first = sorted(nights.items(), key=lambda item: (item[1][0], item[0]),
                          reverse=True)
    return [(run_pk, float(statistics.median(found)))
            for run_pk, (_, found) in newest_first[:limit]]

