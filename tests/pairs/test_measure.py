"""measure_pairs with a stand-in for the case's process: which side runs when, where, in
which interpreter, what a failed side leaves, and when the budget stops new pairs."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from factories import result as stored_result

from segtasks import launch
from segtasks.domain.paired import PairMode, Side
from segtasks.pairs import measure
from segtasks.pairs.measure import (
    PairsError,
    SideSpec,
    core_halves,
    measure_pairs,
    side_case,
)
from segtasks.pairs.schedule import pair_orders
from segtasks.plan.case import Case

CONTROL = SideSpec(python="/envs/control/bin/python", lock_sha256="c" * 64)
TREATMENT = SideSpec(python="/envs/treatment/bin/python", lock_sha256="t" * 64)
CASE = Case(device="cpu", batch_size=1)
PATHS = {"inputs": Path("/in"), "weights": Path("/w.pt")}


class FakeLaunch:
    """Stands in for run_case_isolated: records each call, returns a result whose
    images/s is the interpreter's figure (or a failure for the interpreters in `fail`)."""

    def __init__(self, speeds=None, fail=(), disturbed=()):
        self.speeds = speeds or {CONTROL.python: 100.0, TREATMENT.python: 90.0}
        self.fail, self.disturbed = set(fail), set(disturbed)
        self.calls: list[tuple[str, Case]] = []
        self.lock = threading.Lock()
        self.started = threading.Barrier(2, timeout=5)

    def __call__(self, case, inputs, weights, timeout_s=None, watch_pid=None, python=None,
                 headline_only=False):
        assert headline_only and case.seed_images == case.batch_size, "measured as a side"
        with self.lock:
            self.calls.append((python, case))
            failing = python in self.fail  # once: the next side in it measures
            self.fail.discard(python)
        if case.cpu_affinity != CASE.cpu_affinity:  # a duet: both sides start together
            self.started.wait()
        if failing:
            made = stored_result(status="error", reason="RuntimeError: boom")
        else:
            made = stored_result(images_per_s=self.speeds[python],
                                 disturbed="interference 40%" if python in self.disturbed
                                 else None)
        return replace(made, case=case)


@pytest.fixture
def fake(monkeypatch):
    made = FakeLaunch()
    monkeypatch.setattr(launch, "run_case_isolated", made)
    return made


def test_interleaved_pairs_run_each_side_in_its_interpreter_in_the_pairs_order(fake):
    seen = []
    out = measure_pairs(CASE, **PATHS, control=CONTROL, treatment=TREATMENT, pairs=4,
                        mode=PairMode.INTERLEAVED, seed=7,
                        on_side=lambda side, res: seen.append((side, res)))
    orders = pair_orders(4, random.Random(7))
    assert [s.side for s in out.sides] == [side for order in orders for side in order]
    assert [(s.pair, s.position) for s in out.sides] == [(p, i) for p in range(4)
                                                         for i in range(2)]
    by_python = {CONTROL.python: Side.CONTROL, TREATMENT.python: Side.TREATMENT}
    assert [by_python[python] for python, _ in fake.calls] == [s.side for s in out.sides]
    # interleaved: the case as asked, measured as a side (its timed loop)
    assert all(case == side_case(CASE) for _, case in fake.calls)
    assert [s for s, _ in seen] == out.sides and [r for _, r in seen] == out.results
    assert {s.lock_sha256 for s in out.sides if s.side == Side.TREATMENT} == {"t" * 64}
    control, treatment = out.complete_pairs()
    assert control == [100.0] * 4 and treatment == [90.0] * 4
    assert out.pairs_started == 4 and not out.budget_exhausted and out.spent_s >= 0


def test_a_failed_or_disturbed_side_keeps_its_row_and_its_pair_is_left_out(monkeypatch):
    fake = FakeLaunch(fail={TREATMENT.python}, disturbed=set())
    monkeypatch.setattr(launch, "run_case_isolated", fake)
    out = measure_pairs(CASE, **PATHS, control=CONTROL, treatment=TREATMENT, pairs=3,
                        mode="interleaved", seed=1)
    failed = [s for s in out.sides if s.status != "ok"]
    assert len(failed) == 1 and failed[0].reason == "RuntimeError: boom"
    assert failed[0].images_per_s is None and len(out.sides) == 6
    control, treatment = out.complete_pairs()
    assert len(control) == len(treatment) == 2
    assert len(out.side_values(Side.CONTROL)) == 3  # the failed pair's control still counts

    disturbed = FakeLaunch(disturbed={CONTROL.python})
    monkeypatch.setattr(launch, "run_case_isolated", disturbed)
    out = measure_pairs(CASE, **PATHS, control=CONTROL, treatment=TREATMENT, pairs=2,
                        mode="interleaved", seed=1)
    assert {s.reason for s in out.sides if s.side == Side.CONTROL} == {
        "disturbed: interference 40%"}
    assert out.complete_pairs() == ([], [])


def test_the_budget_stops_new_pairs_once_another_would_pass_it(fake, monkeypatch):
    clock = iter(range(0, 10_000, 10))  # every reading 10 s later: a side takes 10 s
    monkeypatch.setattr(measure, "monotonic", lambda: next(clock))
    out = measure_pairs(CASE, **PATHS, control=CONTROL, treatment=TREATMENT, pairs=10,
                        mode="interleaved", seed=3, budget_s=200)
    assert out.budget_exhausted
    assert 1 <= out.pairs_started < 10
    assert len(out.sides) == 2 * out.pairs_started
    assert out.spent_s <= 200
    assert not measure_pairs(CASE, **PATHS, control=CONTROL, treatment=TREATMENT, pairs=2,
                             mode="interleaved", seed=3).budget_exhausted


def test_a_duet_runs_both_sides_at_once_on_disjoint_halves_that_alternate(fake, monkeypatch):
    monkeypatch.setattr(measure, "allowed_cores", lambda: (0, 1, 2, 3))
    monkeypatch.setattr(measure, "_siblings", lambda core: frozenset({core}))
    out = measure_pairs(CASE, **PATHS, control=CONTROL, treatment=TREATMENT, pairs=4,
                        mode=PairMode.DUET, seed=11)
    assert len(out.sides) == 8 and {s.position for s in out.sides} == {0}
    halves = {(0, 1), (2, 3)}
    for pair in range(4):
        both = [s for s in out.sides if s.pair == pair]
        assert {s.side for s in both} == {Side.CONTROL, Side.TREATMENT}
        assert {s.cpu_affinity for s in both} == halves
    control_halves = [s.cpu_affinity for s in out.sides if s.side == Side.CONTROL]
    assert control_halves.count((0, 1)) == control_halves.count((2, 3)) == 2
    assert {(case.cpu_affinity, case.threads) for _, case in fake.calls} == {
        ((0, 1), 2), ((2, 3), 2)}
    assert out.complete_pairs() == ([100.0] * 4, [90.0] * 4)


def test_a_duet_keeps_the_threads_a_case_asks_for_and_splits_its_own_cores(fake,
                                                                           monkeypatch):
    monkeypatch.setattr(measure, "unavailable", lambda cores: None)
    monkeypatch.setattr(measure, "_siblings", lambda core: frozenset({core}))
    pinned = replace(CASE, cpu_affinity=(4, 5, 6, 7), threads=1)
    out = measure_pairs(pinned, **PATHS, control=CONTROL, treatment=TREATMENT, pairs=2,
                        mode=PairMode.DUET, seed=2)
    assert {s.cpu_affinity for s in out.sides} == {(4, 5), (6, 7)}
    assert {case.threads for _, case in fake.calls} == {1}


def test_halves_keep_hyperthread_siblings_together_and_are_equal(monkeypatch):
    siblings = {0: {0, 4}, 4: {0, 4}, 1: {1, 5}, 5: {1, 5}, 2: {2, 6}, 6: {2, 6},
                3: {3, 7}, 7: {3, 7}}
    monkeypatch.setattr(measure, "_siblings", lambda core: frozenset(siblings[core]))
    assert core_halves(range(8)) == ((0, 4, 1, 5), (2, 6, 3, 7))
    assert core_halves((0, 1, 2, 4, 5, 6)) == ((0, 4), (1, 5))  # the odd core 2 idles
    monkeypatch.setattr(measure, "_siblings", lambda core: frozenset({core}))
    assert core_halves((0, 1, 2)) == ((0,), (1,))


def test_what_cannot_be_measured_in_pairs_is_refused(fake, monkeypatch):
    with pytest.raises(PairsError, match="at least 1"):
        measure_pairs(CASE, **PATHS, control=CONTROL, treatment=TREATMENT, pairs=0,
                      mode="interleaved", seed=0)
    with pytest.raises(PairsError, match="interleaved"):
        measure_pairs(replace(CASE, device="cuda"), **PATHS, control=CONTROL,
                      treatment=TREATMENT, pairs=2, mode="duet", seed=0)
    monkeypatch.setattr(measure, "allowed_cores", lambda: (3,))
    with pytest.raises(PairsError, match="at least 2 cores"):
        measure_pairs(CASE, **PATHS, control=CONTROL, treatment=TREATMENT, pairs=2,
                      mode="duet", seed=0)
    with pytest.raises(PairsError, match="not 'latency_p90_ms'"):
        measure.PairsOutcome(PairMode.DUET, 1).complete_pairs("latency_p90_ms")
    assert fake.calls == []
