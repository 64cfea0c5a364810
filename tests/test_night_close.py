"""segbench's run state follows Airflow's: a night whose tasks did not finish is closed as
`incomplete` (or `failed`, `abandoned`) with what did not finish, never left `running`; and
a running night says how far it got (segtasks.report.unfinished, segtasks.report.progress,
segtasks.store.night_plan)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import result
from sqlalchemy import update

from segtasks import nightly, store
from segtasks.plan import validate
from segtasks.plan.case import Case
from segtasks.report.progress import night_progress
from segtasks.report.unfinished import unfinished_work
from segtasks.store import night_plan, repository
from segtasks.store.schema import Run

PARAMS = validate({"devices": ["cpu"], "batch_sizes": [1, 2, 4], "confirm_repeats": 0})
KEYS = ["cpu-bs1-fp32", "cpu-bs2-fp32", "cpu-bs4-fp32"]


def _open(engine, run_id="n1", dag_id="segbench_nightly", **kw):
    return repository.open_own_run(engine, dag_id=dag_id, run_id=run_id,
                                   trigger="scheduled", params={}, code_version="abc",
                                   planned_cases=KEYS, **kw)


def _started(engine, pk, at):
    with repository._session(engine) as session, session.begin():
        session.execute(update(Run).where(Run.id == pk).values(started_at=at, heartbeat_at=at))


def test_unfinished_work_names_each_case_and_task_from_the_plan_and_task_states():
    cases = [Case(device="cpu", batch_size=bs) for bs in (1, 2)] + [
        Case(device="cuda", batch_size=1)]
    jobs = [{"case_key": "cpu-bs1-fp32", "device": "cpu", "process": 1},
            {"case_key": "cuda-bs1-fp32", "device": "cuda", "process": 1},
            {"case_key": "cpu-bs1-fp32", "device": "cpu", "process": 2}]
    states = {"plan_cpu": "success", "open_run": "success", "build_environments": "success",
              "bench_cpu_0": "success", "bench_cpu_1": "failed", "bench_cuda_0": "success",
              "screen_cpu": "success", "screen_cuda": "failed", "confirm_cpu_0": "success",
              "confirm_cpu_1": "upstream_failed", "confirm_cuda_0": "skipped",
              "compare": "running", "bisect": None}  # bisect runs after compare: not yet
    found = unfinished_work(cases=cases, stored={"cpu-bs1-fp32", "cuda-bs1-fp32"},
                            confirm_jobs=jobs, confirmed={("cpu-bs1-fp32", 1)},
                            task_states=states)
    assert found.cases == ("cpu-bs2-fp32: not measured (bench_cpu[1] failed)",)
    assert found.other == (
        "cpu-bs1-fp32: confirming process 2 not measured (confirm_cpu[1] upstream_failed)",
        "screen_cuda: failed")
    # without task states: the cases with no stored result only (a confirming process may
    # have been left out on purpose, its budget spent)
    assert unfinished_work(cases=cases, stored={"cpu-bs1-fp32"}, confirm_jobs=jobs).lines == [
        "cpu-bs2-fp32: not measured (no result stored)",
        "cuda-bs1-fp32: not measured (no result stored)"]


def test_a_night_whose_bench_task_was_killed_closes_incomplete_naming_it(db_url):
    engine = store.connect(db_url)
    run = _open(engine)
    for bs in (1, 4):
        repository.save_result(engine, run, result(batch_size=bs))
    states = {"bench_cpu_0": "success", "bench_cpu_1": "failed", "bench_cpu_2": "success",
              "compare": "running"}
    outcome = nightly.judge_and_close(run, PARAMS, db_url=db_url, task_states=states)
    closed = repository.get_run(engine, run.pk)
    assert (closed.state, closed.unfinished) == (
        "incomplete", ["cpu-bs2-fp32: not measured (bench_cpu[1] failed)"])
    assert closed.finished_at is not None
    assert "cpu-bs2-fp32: no result stored (its task failed before storing one)" in \
        outcome.problems  # compare fails too: Airflow's run and segbench's agree


def test_a_task_that_did_not_finish_fails_the_night_even_with_every_case_stored(db_url):
    engine = store.connect(db_url)
    run = _open(engine)
    for bs in (1, 2, 4):
        repository.save_result(engine, run, result(batch_size=bs))
    outcome = nightly.judge_and_close(run, PARAMS, db_url=db_url,
                                      task_states={"screen_cpu": "failed"})
    assert outcome.problems == ["screen_cpu: failed"]
    assert repository.get_run(engine, run.pk).state == "incomplete"


def test_a_night_whose_judging_fails_is_closed_as_failed_not_left_running(db_url, monkeypatch):
    engine = store.connect(db_url)
    run = _open(engine)
    repository.save_result(engine, run, result(batch_size=1))

    def broken(*args, **kwargs):
        raise RuntimeError("the judge tripped\nTraceback ...")

    monkeypatch.setattr(nightly, "judge_run", broken)
    with pytest.raises(RuntimeError):
        nightly.judge_and_close(run, PARAMS, db_url=db_url)
    closed = repository.get_run(engine, run.pk)
    assert closed.state == "failed"
    assert closed.notes == ["judging failed: the judge tripped"]
    assert closed.unfinished == ["cpu-bs2-fp32: not measured (no result stored)",
                                 "cpu-bs4-fp32: not measured (no result stored)"]


def test_a_night_still_open_when_the_next_one_opens_is_closed_incomplete(db_url):
    engine = store.connect(db_url)
    killed = _open(engine, "n1")
    repository.save_result(engine, killed, result(batch_size=1))
    _started(engine, killed.pk, datetime.now(UTC) - timedelta(hours=20))
    other_dag = _open(engine, "n1", dag_id="another_dag")  # not one of this DAG's
    _started(engine, other_dag.pk, datetime.now(UTC) - timedelta(hours=20))
    nightly.open_run(db_url=db_url, dag_id="segbench_nightly", run_id="n2",
                     trigger="scheduled", params=PARAMS, one_at_a_time=True)
    closed = repository.get_run(engine, killed.pk)
    assert closed.state == "incomplete"
    assert closed.unfinished == ["cpu-bs2-fp32: not measured (no result stored)",
                                 "cpu-bs4-fp32: not measured (no result stored)"]
    assert closed.notes[-1].startswith("closed when run ")
    assert repository.get_run(engine, other_dag.pk).state == "running"
    # it came back after all (its last task ran late): how it ended wins, the notes say so
    repository.finish_run(engine, killed, "success")
    back = repository.get_run(engine, killed.pk)
    assert back.state == "success" and back.unfinished is None
    assert back.notes[-1] == "came back after it was closed as incomplete, and finished as success"


def test_an_abandoned_night_keeps_what_it_did_not_measure(db_url):
    engine = store.connect(db_url)
    gone = _open(engine, stale_after_s=60.0)
    repository.save_result(engine, gone, result(batch_size=2))
    _started(engine, gone.pk, datetime.now(UTC) - timedelta(hours=1))
    assert [r.run_pk for r in repository.reap_abandoned(engine)] == [gone.pk]
    assert repository.get_run(engine, gone.pk).unfinished == [
        "cpu-bs1-fp32: not measured (no result stored)",
        "cpu-bs4-fp32: not measured (no result stored)"]


def test_a_running_night_says_how_far_it_got(db_url):
    engine = store.connect(db_url)
    run = _open(engine)
    assert night_progress(engine, run.pk).text == "0 of 3 cases measured"
    repository.save_result(engine, run, result(batch_size=1))
    repository.save_result(engine, run, result(batch_size=2))
    progress = night_progress(engine, run.pk)
    assert progress.text == "2 of 3 cases measured"
    assert progress.fraction == pytest.approx(2 / 3)
    repository.save_result(engine, run, result(batch_size=4))
    night_plan.set_confirm_jobs(engine, run, [
        {"case_key": "cpu-bs1-fp32", "device": "cpu", "process": p} for p in (1, 2)])
    assert night_progress(engine, run.pk).text == "3 of 3 cases measured, 2 to confirm"
    repository.save_process(engine, run, result(batch_size=1), process=1, role="confirm",
                            seconds=1.0)
    progress = night_progress(engine, run.pk)
    assert (progress.text, progress.to_confirm) == ("3 of 3 cases measured, 1 to confirm", 1)
    assert progress.fraction == pytest.approx(4 / 5)
    assert night_progress(engine, run.pk + 1) is None


def test_screening_records_the_confirming_processes_it_asks_for(db_url):
    engine = store.connect(db_url)
    run = _open(engine)
    assert nightly.screen(run, PARAMS, db_url=db_url) == []
    assert repository.get_run(engine, run.pk).confirm_jobs == []  # screened: none to confirm
    assert night_progress(engine, run.pk).text == "0 of 3 cases measured, 0 to confirm"
