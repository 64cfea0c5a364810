"""The DAG run's colour tells the truth: it fails, naming the cases and reasons, whenever a
case errored, planning failed, nothing was measured or (with fail_on_regression) a case
regressed; the report is written in every case."""

from __future__ import annotations

import pytest
from factories import result
from sqlalchemy import text
from test_dag import TINY_GRID, dag  # noqa: F401 - the fixture

from segtasks import store
from segtasks.store import repository

pytestmark = pytest.mark.slow
CPU_ONLY = {**TINY_GRID, "devices": ["cpu"], "batch_sizes": [1]}


@pytest.fixture
def results_db(airflow_db, sqlite_url_at_head, tiny_inputs, weights_file, monkeypatch):
    sqlite_url = sqlite_url_at_head
    monkeypatch.setenv("SEGBENCH_DB_URL", sqlite_url)
    monkeypatch.setenv("SEGBENCH_INPUTS", str(tiny_inputs))
    monkeypatch.setenv("SEGBENCH_WEIGHTS", str(weights_file))
    return sqlite_url


def _states(dag_run):
    return {(ti.task_id, ti.map_index): (ti.state, ti.try_number)
            for ti in dag_run.get_task_instances()}


def regressed_run_pk(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT max(id) FROM runs")).scalar_one()


def _reports(tmp_path):
    return sorted((tmp_path / "var" / "reports").glob("*/run-*/report.md"))


def test_every_case_errored_fails_the_run_naming_cases_and_reason(
    dag, results_db, monkeypatch, capfd, tmp_path  # noqa: F811
):
    monkeypatch.setenv("SEGBENCH_INPUTS", str(tmp_path / "no-such-folder"))
    dag_run = dag.test(run_conf={**TINY_GRID, "devices": ["cpu"]})
    assert dag_run.state == "failed"
    states = _states(dag_run)
    assert states[("bench_cpu", 0)][0] == states[("bench_cpu", 1)][0] == "failed"
    assert states[("compare", -1)] == ("failed", 1)  # a verdict on the night: not retried
    out = capfd.readouterr().out
    missing = f"input folder {tmp_path / 'no-such-folder'} does not exist"
    assert f"cpu-bs1-fp32 errored: {missing}" in out
    assert f"cpu-bs2-fp32 errored: {missing}" in out
    (report,) = _reports(tmp_path)
    assert "## Problems" in report.read_text() and missing in report.read_text()
    with store.connect(results_db).connect() as conn:
        assert conn.execute(text("SELECT state FROM runs")).scalar() == "failed"


def test_a_conf_that_fails_planning_fails_the_run_not_a_skipped_leaf(
    dag, results_db, capfd  # noqa: F811
):
    dag_run = dag.test(run_conf={**CPU_ONLY, "max_seconds": 1, "min_seconds": 2})
    assert dag_run.state == "failed"
    assert _states(dag_run)[("compare", -1)] == ("failed", 1)
    assert "planning failed, nothing was measured: bad parameter" in capfd.readouterr().out


def test_a_case_whose_task_failed_before_storing_closes_the_night_incomplete_naming_it(
    dag, results_db, monkeypatch  # noqa: F811
):
    from segtasks import nightly

    measure = nightly.bench

    def bench(case, run, **kwargs):  # its worker lost before the result was stored
        if case["batch_size"] == 2:
            raise RuntimeError("worker lost")
        return measure(case, run, **kwargs)

    monkeypatch.setattr(nightly, "bench", bench)
    dag_run = dag.test(run_conf={**CPU_ONLY, "batch_sizes": [1, 2], "confirm_repeats": 0})
    assert dag_run.state == "failed"
    states = _states(dag_run)
    assert states[("bench_cpu", 1)][0] == "failed"
    assert states[("compare", -1)] == ("failed", 1)
    run = repository.get_run(store.connect(results_db), regressed_run_pk(
        store.connect(results_db)))
    # segbench's run follows Airflow's: not `running`, and it names what did not finish,
    # from the task states Airflow gave its last task
    assert run.state == "incomplete"
    assert run.unfinished == ["cpu-bs2-fp32: not measured (bench_cpu[1] failed)"]


def test_a_regression_fails_the_run_only_with_fail_on_regression(
    dag, results_db, tmp_path  # noqa: F811
):
    from segtasks.measure.environment import fingerprint

    engine = store.connect(results_db)
    hardware_key = fingerprint()["hardware_key"]  # the series of this machine
    for night in range(3):  # three earlier nights, far faster than this machine can go
        run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=f"past-{night}",
                                     trigger="scheduled", params={}, code_version="x")
        repository.save_result(engine, run_pk, result(hardware=hardware_key,
                                                      images_per_s=1e5))
        repository.finish_run(engine, run_pk, "success")

    # confirmation off: the run's state, not confirming, is this test's subject (two
    # confirming processes per night would double its cost)
    regressed = dag.test(run_conf={**CPU_ONLY, "confirm_repeats": 0})
    assert regressed.state == "failed"
    assert _states(regressed)[("compare", -1)] == ("failed", 1)
    # the failure message is the report's Problems section (stdout capture of a task's
    # prints depends on how earlier tests left Airflow's logging, so read the report)
    (report,) = _reports(tmp_path)
    problems = report.read_text().split("## Problems", 1)[1].split("\n## ", 1)[0]
    assert "cpu-bs1-fp32 regressed: " in problems and "(+0.0%)" not in problems
    # images/s fell by ~100%; it is named unless tonight's own interval was so wide (the other
    # xdist worker loading the CPU) that the series could not see even a 100% change
    speed = next(v for v in repository.run_comparisons(engine, regressed_run_pk(engine))
                 if v.metric == "images_per_s")
    assert ("cpu-bs1-fp32 regressed: images_per_s -" in problems
            or (speed.mde is not None and speed.mde >= 1.0)), (speed, problems)
    tolerated = dag.test(run_conf={**CPU_ONLY, "confirm_repeats": 0,
                                   "fail_on_regression": False})
    assert tolerated.state == "success"
    assert len(_reports(tmp_path)) == 2  # written for both nights


def test_an_outdated_schema_fails_at_once_without_retries(dag, airflow_db, sqlite_url,  # noqa: F811
                                                          monkeypatch, capfd):
    monkeypatch.setenv("SEGBENCH_DB_URL", sqlite_url)  # never upgraded: no segbench tables
    dag_run = dag.test(run_conf=CPU_ONLY)
    assert dag_run.state == "failed"
    states = _states(dag_run)
    assert states[("open_run", -1)] == ("failed", 1)  # retrying would not upgrade it
    assert states[("compare", -1)] == ("failed", 1)
    assert "has no segbench tables yet: run `segbench db upgrade`" in capfd.readouterr().out
