"""The Celery worker running a bench task is killed with SIGKILL mid-case: its case process
dies with it (no orphan keeps measuring), Airflow retries the task on another worker, the
case is stored exactly once and the run finishes."""

from __future__ import annotations

import os
import signal

import psutil
import pytest
from sqlalchemy import text

from faults.fault_tools import wait_for
from segtasks import store

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.postgres]

GRID = {"devices": ["cpu"], "batch_sizes": [1], "n_images": 1, "warmup_batches": 0,
        "warmup_seconds": 0, "min_seconds": 0.01, "max_seconds": 0.3,
        "end_to_end_seconds": 0, "end_to_end_passes": 1, "max_interference": 1,
        "max_steal": 1}


def _case_workers(root_pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if "segtasks.launch.worker" in _command_line(c)]


def _command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # gone, or a zombie, since it was listed
        return ""


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_task_is_retried_and_the_case_stored_once(celery, pg_url_at_head):
    cluster, pg_url = celery, pg_url_at_head  # the session's cluster; this test's results
    # the first try measures long enough to be killed in the middle (a one-off slowdown:
    # the retry measures at full speed); the cluster's scheduler notices a task whose
    # worker died within seconds (conftest's `_celery_cluster`)
    cluster.one_off_delay_file.write_text("1000")
    cluster.wait_for("the API", lambda: cluster.api("GET", "/api/v2/monitor/health"), 180)
    cluster.wait_for("the DAG to be parsed",
                     lambda: cluster.api("GET", "/api/v2/dags/segbench_nightly"), 180)
    run = cluster.api("POST", "/api/v2/dags/segbench_nightly/dagRuns",
                      {"logical_date": None, "conf": GRID})
    worker = cluster.processes["worker-cpu"]
    (case_process,) = cluster.wait_for(
        "the case measuring", lambda: _case_workers(worker.pid), 300, every_s=0.5)

    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its task supervisor, at once
    worker.wait()
    cluster.processes.pop("worker-cpu")  # dead on purpose: not a failure to watch for
    wait_for("the case process to die with its task", lambda: not _alive(case_process),
             15)
    cluster.start_worker("default", name="worker-cpu-2")

    run_path = f"/api/v2/dags/segbench_nightly/dagRuns/{run['dag_run_id']}"

    def finished():
        state = cluster.api("GET", run_path)["state"]
        return state if state in ("success", "failed") else None

    assert cluster.wait_for("the DAG run to finish", finished, 300, every_s=3) == \
        "success"
    tis = cluster.api("GET", f"{run_path}/taskInstances")["task_instances"]
    bench = next(t for t in tis if t["task_id"] == "bench_cpu")
    assert (bench["state"], bench["try_number"]) == ("success", 2)
    assert "bench_cpu" in cluster.log("worker-cpu-2")

    with store.connect(pg_url).connect() as conn:
        rows = conn.execute(text(
            "SELECT x.case_key, x.status FROM results x JOIN runs r ON r.id = x.run_pk "
            "WHERE r.run_id = :run"), {"run": run["dag_run_id"]}).all()
        state = conn.execute(text("SELECT state FROM runs WHERE run_id = :run"),
                             {"run": run["dag_run_id"]}).scalar()
    assert [tuple(r) for r in rows] == [("cpu-bs1-fp32", "ok")]
    assert state == "success"
