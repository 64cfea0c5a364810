"""The DAG's bench tasks take the same device lock as `segbench run`: while a hand-started
run holds the CPU, the nightly's CPU case does not measure beside it; its task fails
naming the holder, and nothing is stored."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from test_dag import TINY_GRID, dag  # noqa: F401 - the fixture

from segtasks import store
from segtasks.launch.device_lock import devices_locked

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def test_a_bench_task_waits_for_the_device_and_then_fails_naming_the_holder(
        dag, airflow_db, sqlite_url, tiny_inputs, weights_file, monkeypatch,  # noqa: F811
        capfd):
    store.upgrade(sqlite_url)
    monkeypatch.setenv("SEGBENCH_DB_URL", sqlite_url)
    monkeypatch.setenv("SEGBENCH_INPUTS", str(tiny_inputs))
    monkeypatch.setenv("SEGBENCH_WEIGHTS", str(weights_file))
    monkeypatch.setenv("SEGBENCH_LOCK_WAIT_S", "0.2")
    with devices_locked(["cpu"]):  # a `segbench run` measuring the CPU by hand
        dag_run = dag.test(run_conf={**TINY_GRID, "devices": ["cpu"], "batch_sizes": [1]})
    assert dag_run.state == "failed"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["bench_cpu"] == "failed"
    assert (f"device cpu is being benchmarked by process {os.getpid()}"
            in capfd.readouterr().out)
    with store.connect(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM results")).scalar() == 0
