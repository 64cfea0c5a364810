"""Same-night confirmation through the store: screening picks the cases, the confirming
processes are stored, close pools them; the budget's end is noted. (The same path through
Airflow, with real measurements, is in test_dag.)"""

from datetime import UTC, datetime, timedelta

import pytest
from factories import result
from sqlalchemy import text

from segtasks import nightly, store
from segtasks.plan import validate
from segtasks.store import repository
from segtasks.store.schema import Run

PARAMS = validate({"devices": ["cpu"], "batch_sizes": [1, 2]})
USUAL = [10.0, 10.1, 9.9, 10.05, 9.95, 10.0, 10.1]


def _night(engine, i, by_batch):
    run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=f"n{i}",
                                 trigger="scheduled", params={}, code_version="abc")
    with repository._session(engine) as session, session.begin():
        session.get_one(Run, run_pk).started_at = datetime(2026, 10, 1, 2, tzinfo=UTC) + \
            timedelta(days=i)
    for batch_size, ips in by_batch.items():
        measured = result(batch_size=batch_size, images_per_s=ips)
        repository.save_result(engine, run_pk, measured)
        repository.save_process(engine, run_pk, measured, process=0, role="first", seconds=4.0)
    return run_pk


def _confirm(engine, run_pk, jobs, values):
    """Store the confirming processes the jobs ask for, with these figures per case."""
    for job in jobs:
        bs = job["case"]["batch_size"]
        measured = result(batch_size=bs, images_per_s=values[bs].pop(0))
        repository.save_process(engine, run_pk, measured, process=job["process"],
                                role="confirm", seconds=4.0)


@pytest.fixture
def tonight(db_url):
    """Seven ordinary nights, then one where bs1's first process is 20% slow and bs2 is
    10% slower."""
    engine = store.connect(db_url)
    for i, ips in enumerate(USUAL):
        _night(engine, i, {1: ips, 2: ips * 1.5})
    return engine, _night(engine, len(USUAL), {1: 8.0, 2: 0.9 * 15.0})


def test_screening_picks_the_suspicious_cases_interleaved(tonight, db_url):
    engine, run_pk = tonight
    jobs = nightly.screen(run_pk, PARAMS, db_url=db_url)
    assert [(j["case"]["batch_size"], j["process"]) for j in jobs] == [
        (1, 1), (2, 1), (1, 2), (2, 2)]  # A B A B: a slow drift hits both alike
    assert nightly.screen(run_pk, validate({"devices": ["cpu"], "batch_sizes": [1, 2],
                                            "confirm_repeats": 0}), db_url=db_url) == []


def test_a_one_off_is_unconfirmed_and_a_real_slowdown_confirmed_with_both_measurements(
        tonight, db_url):
    engine, run_pk = tonight
    _confirm(engine, run_pk, nightly.screen(run_pk, PARAMS, db_url=db_url),
             {1: [10.0, 10.05], 2: [13.45, 13.55]})
    outcome = nightly.judge_and_close(run_pk, PARAMS, db_url=db_url)
    speed = {v.case_key: v for v in outcome.verdicts if v.metric == "images_per_s"}
    one_off, real = speed["cpu-bs1-fp32"], speed["cpu-bs2-fp32"]
    assert (one_off.verdict, one_off.confirmed, one_off.first_value) == (
        "unconfirmed", False, 8.0)
    assert one_off.process_values == [8.0, 10.0, 10.05] and one_off.tonight == 10.0
    assert (real.verdict, real.confirmed, real.alerted) == ("regression", True, True)
    assert real.relative_change == pytest.approx(13.5 / 15.0 - 1, abs=0.005)
    assert [v.case_key for v in outcome.regressions] == ["cpu-bs2-fp32"]
    assert repository.get_run(engine, run_pk).notes is None  # every screened case confirmed
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT case_key, verdict, confirmed, mde, first_value FROM v_verdicts "
            "WHERE metric = 'images_per_s' AND run_pk = :run ORDER BY case_key"),
            {"run": run_pk}).all()
        samples = conn.execute(text(
            "SELECT s.process, count(*) FROM samples s JOIN results r ON r.id = s.result_id "
            "WHERE r.run_pk = :run AND r.case_key = 'cpu-bs1-fp32' GROUP BY s.process "
            "ORDER BY s.process"), {"run": run_pk}).all()
    assert [(r.case_key, r.verdict, bool(r.confirmed), r.first_value) for r in rows] == [
        ("cpu-bs1-fp32", "unconfirmed", False, 8.0),
        ("cpu-bs2-fp32", "regression", True, 13.5)]
    # bs2's processes agree: it sees what a quiet series sees; bs1's disagree (one was 20%
    # slow), which widens tonight's interval and so what the verdict could have seen
    assert 0.05 <= rows[1].mde < 0.08 < 0.2 < rows[0].mde
    assert [tuple(s) for s in samples] == [(0, 3), (1, 3), (2, 3)]  # every process's batches


def test_when_the_budget_runs_out_the_rest_keep_their_first_verdict_and_the_run_says_so(
        tonight, db_url):
    engine, run_pk = tonight
    jobs = nightly.screen(run_pk, PARAMS, db_url=db_url)
    _confirm(engine, run_pk, [j for j in jobs if j["case"]["batch_size"] == 1],
             {1: [10.0, 10.05]})
    # the budget is spent: 8 s of confirmation stored, each case takes about 4 s
    skipped = nightly.confirm(jobs[1], run_pk, db_url=db_url, budget_s=10.0)
    assert skipped["status"] == "skipped" and "budget spent" in skipped["reason"]
    outcome = nightly.judge_and_close(run_pk, PARAMS, db_url=db_url)
    speed = {v.case_key: v for v in outcome.verdicts if v.metric == "images_per_s"}
    assert (speed["cpu-bs2-fp32"].verdict, speed["cpu-bs2-fp32"].confirmed) == (
        "regression", None)
    assert "confirmation budget spent" in speed["cpu-bs2-fp32"].detail
    notes = repository.get_run(engine, run_pk).notes
    assert notes == ["confirmation budget (600 s) ran out after 1 of 2 screened cases; "
                     "cpu-bs2-fp32 keep their first verdict"]
    assert "## Notes of this night" in outcome.text and notes[0] in outcome.text
