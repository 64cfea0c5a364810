from datetime import UTC, datetime, timedelta

import pytest
from factories import result

from segtasks import store
from segtasks.compare import decide, judge
from segtasks.store import repository
from segtasks.store.schema import Run


def _nights(engine, throughputs, hardware=None, status=None, first=0):
    """Store one run per night from night `first` on, oldest first; returns the run ids."""
    run_pks = []
    start = datetime(2026, 11, 1, 2, tzinfo=UTC)
    for i, ips in enumerate(throughputs, start=first):
        run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=f"n{i}",
                                     trigger="scheduled", params={}, code_version="x")
        with repository._session(engine) as session, session.begin():
            session.get_one(Run, run_pk).started_at = start + timedelta(days=i)
        kwargs = {"hardware": hardware} if hardware else {}
        last = i == first + len(throughputs) - 1
        repository.save_result(engine, run_pk, result(
            images_per_s=ips, status=status if (status and last) else "ok", **kwargs))
        run_pks.append(run_pk)
    return run_pks


@pytest.mark.parametrize(
    ("tonight", "history", "expected"),
    [
        (10.0, [], "new"),
        (10.0, [10.0, 10.1], "insufficient_history"),
        (8.9, [10.0, 10.2, 9.9, 10.1], "regression"),
        (9.2, [10.0, 10.2, 9.9, 10.1], "unchanged"),
        (11.5, [10.0, 10.2, 9.9, 10.1], "improvement"),
    ],
)
def test_decision_on_known_answers(tonight, history, expected):
    assert decide(tonight, history, threshold=0.10, min_history=3)[0] == expected


def test_a_planted_slower_night_is_flagged_and_a_normal_one_is_not(db_url):
    engine = store.connect(db_url)
    usual = [10.0, 10.3, 9.8, 10.1, 9.9, 10.2, 10.0]
    normal = _nights(engine, [*usual, 9.7])
    (verdict,) = judge(engine, normal[-1])
    assert verdict.verdict == "unchanged"
    slow = _nights(engine, [8.0], first=len(normal))  # 20% fewer images/s than usual
    (verdict,) = judge(engine, slow[-1])
    assert verdict.verdict == "regression"
    assert verdict.relative_change == pytest.approx(8.0 / 10.0 - 1)
    assert len(verdict.baseline_run_pks) == 7  # the last K=7 nights, not the whole history
    stored = repository.run_comparisons(engine, slow[-1])
    assert [(c.case_key, c.verdict, c.baseline) for c in stored] == [
        ("cpu-bs1-fp32", "regression", 10.0)]


def test_too_little_history_is_insufficient_and_none_is_new(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.0, 5.0])
    assert judge(engine, runs[0])[0].verdict == "new"
    assert judge(engine, runs[-1])[0].verdict == "insufficient_history"


def test_a_case_that_worked_and_now_runs_out_of_memory_is_a_regression(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.0, 10.0, 10.0], status="oom")
    (verdict,) = judge(engine, runs[-1])
    assert verdict.verdict == "regression" and verdict.detail.startswith("status oom")


def test_another_hardware_starts_a_new_series_instead_of_flagging(db_url):
    engine = store.connect(db_url)
    _nights(engine, [10.0, 10.0, 10.0, 10.0])
    runs = _nights(engine, [3.0], hardware="cpu=Slower CPU (2 threads); gpu=none", first=4)
    assert judge(engine, runs[-1])[0].verdict == "new"


def test_judging_twice_keeps_one_set_of_verdicts(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.0, 10.0, 10.0])
    judge(engine, runs[-1])
    judge(engine, runs[-1])
    assert len(repository.run_comparisons(engine, runs[-1])) == 1
