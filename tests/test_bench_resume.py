"""A bench task killed after its case's first process (Airflow retries it): the retry keeps
what the earlier attempt stored and measures only what is missing, the case's further
processes and its pairs, in the order the night's seed gave them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import result

from segtasks import launch, nightly, store
from segtasks.domain.paired import Side
from segtasks.paired_night.bench import measured_pairs
from segtasks.paired_night.environments import current_sha256
from segtasks.store import repository
from segtasks.store.pairs import pair_sides


class Killed(BaseException):
    """The task's death, as Airflow's SIGKILL would end it (never caught by the bench)."""


class Launches:
    """Stands in for the case's process: counts the calls and dies at call `die_at`."""

    def __init__(self, die_at: int | None = None):
        self.calls: list[tuple[bool, float]] = []
        self.die_at = die_at

    def __call__(self, case, inputs, weights, timeout_s=None, watch_pid=None, python=None,
                 headline_only=False):
        if self.die_at is not None and len(self.calls) == self.die_at:
            raise Killed
        speed = 100.0 + len(self.calls)  # a distinct value per process: where each went
        self.calls.append((headline_only, speed))
        return replace(result(images_per_s=speed), case=case)


@pytest.fixture
def paired_night(db_url):
    night = nightly.plan({"devices": ["cpu"], "batch_sizes": [1], "repeats": 2})
    run = nightly.open_run(db_url=db_url, dag_id="d", run_id="killed", trigger="cli",
                           params=night)
    case = night.cases[0]
    here = current_sha256()  # both sides in this interpreter: no environment to build
    entry = {"treatment": {"sha256": here}, "control": {"sha256": here}, "pairs": 3,
             "mode": "interleaved", "budget_s": None, "seed": 7}
    return db_url, run, case, {case.key: entry}


def test_a_retried_bench_task_measures_only_the_processes_and_pairs_it_lacks(
        paired_night, monkeypatch, tmp_path):
    db_url, run, case, environments = paired_night
    engine = store.connect(db_url)
    # first attempt: the case (1 process), its second process, pair 0 (2 sides) and the
    # first side of pair 1; killed while measuring the second side of pair 1
    first = Launches(die_at=5)
    monkeypatch.setattr(launch, "run_case_isolated", first)
    with pytest.raises(Killed):
        nightly.bench(case.to_dict(), run, db_url=db_url, environments=environments,
                      inputs=tmp_path, weights=tmp_path)
    stored = pair_sides(engine, run.pk, case.key)
    assert sorted((s.pair, s.side) for s in stored) == [
        (0, Side.CONTROL), (0, Side.TREATMENT), (1, stored[-1].side)]
    assert measured_pairs(stored) == {0}
    kept = {(s.pair, s.side): s.images_per_s for s in stored if s.pair == 0}

    retry = Launches()
    monkeypatch.setattr(launch, "run_case_isolated", retry)
    summary = nightly.bench(case.to_dict(), run, db_url=db_url, environments=environments,
                            inputs=tmp_path, weights=tmp_path)

    assert summary["status"] == "ok"
    # not the case again, nor its second process: pairs 1 (whole) and 2, every one a side
    assert len(retry.calls) == 4 and all(headline for headline, _ in retry.calls)
    sides = pair_sides(engine, run.pk, case.key)
    assert sorted((s.pair, s.side) for s in sides) == [
        (pair, side) for pair in range(3) for side in (Side.CONTROL, Side.TREATMENT)]
    assert {(s.pair, s.side): s.images_per_s for s in sides if s.pair == 0} == kept
    assert {s.images_per_s for s in sides if s.pair > 0} == {v for _, v in retry.calls}
    processes = repository.processes_of(engine, run.pk)[case.key]
    assert [p.process for p in processes] == [0, 1]


def test_a_retry_killed_before_the_further_process_measures_it(paired_night, monkeypatch,
                                                              tmp_path):
    db_url, run, case, _ = paired_night
    engine = store.connect(db_url)
    monkeypatch.setattr(launch, "run_case_isolated", Launches(die_at=1))
    with pytest.raises(Killed):
        nightly.bench(case.to_dict(), run, db_url=db_url, inputs=tmp_path, weights=tmp_path)
    assert [p.process for p in repository.processes_of(engine, run.pk)[case.key]] == [0]

    retry = Launches()
    monkeypatch.setattr(launch, "run_case_isolated", retry)
    nightly.bench(case.to_dict(), run, db_url=db_url, inputs=tmp_path, weights=tmp_path)

    assert retry.calls == [(True, 100.0)]  # the second process only, the timed loop only
    assert [p.process for p in repository.processes_of(engine, run.pk)[case.key]] == [0, 1]
    # a third attempt finds nothing to do
    third = Launches()
    monkeypatch.setattr(launch, "run_case_isolated", third)
    nightly.bench(case.to_dict(), run, db_url=db_url, inputs=tmp_path, weights=tmp_path)
    assert third.calls == []
