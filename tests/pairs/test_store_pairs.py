"""Pair sides and paired verdicts round-trip through SQLite and PostgreSQL, idempotently
and under the night's identity, read as plain SQL; and the control lock's series."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import HARDWARE, result
from sqlalchemy import text, update

from segtasks import store
from segtasks.domain.paired import PairedVerdict, PairMode, PairSide, Side
from segtasks.store import repository
from segtasks.store.identity import RunReplaced
from segtasks.store.pairs import (
    control_series,
    pair_sides,
    paired_verdicts,
    save_pair_side,
    save_paired_verdict,
)
from segtasks.store.schema import Result

CONTROL, TREATMENT, OTHER = "c" * 64, "t" * 64, "o" * 64
CASE_KEY = "cpu-bs1-fp32"


def _open(engine, run_id):
    return repository.open_own_run(engine, dag_id="segbench_nightly", run_id=run_id,
                                   trigger="scheduled", params={}, code_version="abc")


def side(pair, position, which, value, *, lock=None, mode=PairMode.INTERLEAVED, **more):
    lock = lock or (CONTROL if which == Side.CONTROL else TREATMENT)
    return PairSide(pair=pair, position=position, side=which, lock_sha256=lock, mode=mode,
                    status="ok", images_per_s=value, latency_p50_ms=1000 / value,
                    ci_rel=0.01, n_batches=12, valid=True, cpu_affinity=(0, 1), seconds=4.5,
                    **more)


def verdict(**more):
    return replace(PairedVerdict(
        case_key=CASE_KEY, hardware_key=HARDWARE, metric="images_per_s",
        control_lock=CONTROL, treatment_lock=TREATMENT, mode=PairMode.DUET, pairs=5,
        verdict="regression", ratio=0.94, ci_low=0.93, ci_high=0.95, p_value=0.001, mde=0.02,
        min_effect=0.05, machine_verdict="unchanged", machine_change=0.001,
        machine_detail="5 control processes", packages_changed=("torch 2.14.0 -> 2.14.1",),
        detail="images_per_s 6.0% slower", budget_s=600.0, spent_s=120.0), **more)


def test_pair_sides_round_trip_idempotently_in_the_order_measured(db_url):
    engine = store.connect(db_url)
    run = _open(engine, "night-1")
    sides = [side(0, 0, Side.TREATMENT, 90.0), side(0, 1, Side.CONTROL, 100.0),
             side(1, 0, Side.CONTROL, 101.0),
             replace(side(1, 1, Side.TREATMENT, 91.0), status="error", reason="boom",
                     images_per_s=None, latency_p50_ms=None, valid=None)]
    for s in reversed(sides):
        save_pair_side(engine, run, CASE_KEY, s)
    save_pair_side(engine, run, CASE_KEY, sides[0])  # a retried write: still one row
    save_pair_side(engine, run, "cpu-bs2-fp32", side(0, 0, Side.CONTROL, 50.0))
    assert pair_sides(engine, run.pk, CASE_KEY) == sides
    assert len(pair_sides(engine, run.pk)) == 5
    # a rewritten side overwrites its row (the same pair and side)
    save_pair_side(engine, run, CASE_KEY, replace(sides[0], images_per_s=92.0))
    assert pair_sides(engine, run.pk, CASE_KEY)[0].images_per_s == 92.0
    with engine.connect() as conn:  # what a SQL user reads
        rows = conn.execute(text(
            "SELECT pair, position, side, lock_sha256, status, images_per_s FROM pairs "
            "WHERE run_pk = :run AND case_key = :case ORDER BY pair, position"),
            {"run": run.pk, "case": CASE_KEY}).all()
    assert [tuple(r) for r in rows] == [
        (0, 0, "treatment", TREATMENT, "ok", 92.0), (0, 1, "control", CONTROL, "ok", 100.0),
        (1, 0, "control", CONTROL, "ok", 101.0), (1, 1, "treatment", TREATMENT, "error", None)]


def test_a_paired_verdict_round_trips_and_a_second_judging_replaces_it(db_url):
    engine = store.connect(db_url)
    run = _open(engine, "night-1")
    save_paired_verdict(engine, run, verdict())
    save_paired_verdict(engine, run, verdict(ratio=0.95))
    save_paired_verdict(engine, run, replace(verdict(), metric="latency_p50_ms",
                                             verdict="inconclusive"))
    stored = paired_verdicts(engine, run.pk)
    assert stored == [replace(verdict(ratio=0.95), run_pk=run.pk),
                      replace(verdict(), metric="latency_p50_ms", verdict="inconclusive",
                              run_pk=run.pk)]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT verdict, ratio FROM paired_verdicts WHERE "
                                 "metric = 'images_per_s'")).one() == ("regression", 0.95)


def test_writes_under_a_run_that_is_not_the_nights_any_more_are_refused(db_url):
    engine = store.connect(db_url)
    run = _open(engine, "night-1")
    stranger = replace(run, token="0" * 32)
    with pytest.raises(RunReplaced, match="is not this night's"):
        save_pair_side(engine, stranger, CASE_KEY, side(0, 0, Side.CONTROL, 100.0))
    with pytest.raises(RunReplaced, match="is not this night's"):
        save_paired_verdict(engine, stranger, verdict())
    assert pair_sides(engine, run.pk) == [] and paired_verdicts(engine, run.pk) == []


def _whole_night(engine, run_id, value, lock, **kwargs):
    """A night that ran in one lock (no pairs): its result row names the lock."""
    run = _open(engine, run_id)
    repository.save_result(engine, run, result(images_per_s=value, **kwargs))
    with engine.begin() as conn:
        conn.execute(update(Result).where(Result.run_pk == run.pk).values(lock_sha256=lock))
    return run


def _paired_night(engine, run_id, controls, mode=PairMode.INTERLEAVED):
    run = _open(engine, run_id)
    for pair, value in enumerate(controls):
        save_pair_side(engine, run, CASE_KEY, side(pair, 0, Side.CONTROL, value, mode=mode))
        save_pair_side(engine, run, CASE_KEY, side(pair, 1, Side.TREATMENT, value * 0.9,
                                                   mode=mode))
    save_paired_verdict(engine, run, replace(verdict(), mode=mode))
    return run


def test_the_control_series_holds_its_locks_earlier_nights_newest_first(db_url):
    engine = store.connect(db_url)
    whole = _whole_night(engine, "n1", 100.0, CONTROL)
    _whole_night(engine, "n2", 50.0, OTHER)  # another lock
    _whole_night(engine, "n3", 60.0, CONTROL, disturbed="interference 40%")
    excluded = _whole_night(engine, "n4", 70.0, CONTROL)
    repository.set_excluded(engine, excluded.pk, True, "a bad night")
    _whole_night(engine, "n5", 80.0, CONTROL, hardware="cpu=Other CPU; gpu=none")
    paired = _paired_night(engine, "n6", [102.0, 98.0, 104.0])
    duet = _paired_night(engine, "n7", [55.0, 57.0], mode=PairMode.DUET)
    # a paired night's control side that failed does not count
    save_pair_side(engine, paired, CASE_KEY,
                   replace(side(3, 0, Side.CONTROL, 1.0), status="error", reason="boom"))
    tonight = _open(engine, "tonight")
    _whole_night(engine, "later", 90.0, CONTROL)  # after tonight

    series = control_series(engine, CASE_KEY, HARDWARE, CONTROL, tonight.pk, 10)
    assert series == [(paired.pk, 102.0), (whole.pk, 100.0)]
    assert control_series(engine, CASE_KEY, HARDWARE, CONTROL, tonight.pk, 1) == [
        (paired.pk, 102.0)]
    # a duet's sides ran on half the cores: only duets make its series
    assert control_series(engine, CASE_KEY, HARDWARE, CONTROL, tonight.pk, 10,
                          mode=PairMode.DUET) == [(duet.pk, 56.0)]
    assert control_series(engine, CASE_KEY, HARDWARE, CONTROL, tonight.pk, 10,
                          metric="latency_p50_ms") == [(paired.pk, 1000 / 102.0),
                                                       (whole.pk, 100.0)]
    assert control_series(engine, CASE_KEY, "cpu=Other CPU; gpu=none", CONTROL,
                          tonight.pk, 10)[0][1] == 80.0
