"""One night on the session's Celery cluster, shared by the two tests that need one (a
night on the cluster costs a minute and a half of this suite): the grid test's tiny
CPU+CUDA grid, triggered through the REST API, during which the Celery worker running
the first CPU case is killed with SIGKILL mid-case and a new worker takes its place.

- tests/integration/test_celery_cluster.py: the workers ran the grid, each task on its
  own queue, the CUDA cases recorded as skipped;
- tests/faults/test_celery_worker_killed.py: the killed worker's case process died with
  it, Airflow retried the task on the new worker, every case was stored exactly once and
  the run finished.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

import psutil
from sqlalchemy import text

# a fast protocol; the end-to-end pass and the validity checks are off (these tests are
# about where tasks run; a busy shared machine re-measures disturbed cases, minutes in all)
GRID = {"devices": ["cpu", "cuda"], "batch_sizes": [1, 2], "n_images": 1,
        "warmup_batches": 0, "warmup_seconds": 0, "min_seconds": 0.01, "max_seconds": 0.3,
        "end_to_end_seconds": 0, "end_to_end_passes": 1, "max_interference": 1,
        "max_steal": 1}
KILLED, REPLACEMENT = "worker-cpu", "worker-cpu-2"
WORKERS = (KILLED, "worker-gpu", REPLACEMENT)


@dataclass(frozen=True)
class CeleryNight:
    run_id: str
    state: str  # the DAG run's, as the REST API reports it once finished
    task_instances: list[dict[str, Any]]  # as the REST API lists them
    logs: dict[str, str]  # what each worker (WORKERS) wrote during the night
    case_process_died: bool  # the killed worker's case process, within 15 s of the kill
    results: list[tuple[str, str]]  # (case key, status) stored for the run, by case key
    stored_state: str | None  # the run's state in the results database


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


def _dies_within(process: psutil.Process, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(process):
            return True
        time.sleep(0.05)
    return not _alive(process)


def run(cluster, results_url: str) -> CeleryNight:  # type: ignore[no-untyped-def]
    """The night on `cluster` (begun with `results_url` as its results database)."""
    from segtasks import store

    # the first case process measures long enough to be killed in the middle (a one-off
    # slowdown: the retry measures at full speed); the cluster's scheduler notices a task
    # whose worker died within seconds (conftest's `_celery_cluster`)
    cluster.one_off_delay_file.write_text("1000")
    cluster.wait_for("the API", lambda: cluster.api("GET", "/api/v2/monitor/health"), 180)
    cluster.wait_for("the DAG to be parsed",
                     lambda: cluster.api("GET", "/api/v2/dags/segbench_nightly"), 180)
    run = cluster.api("POST", "/api/v2/dags/segbench_nightly/dagRuns",
                      {"logical_date": None, "conf": GRID})
    worker = cluster.processes[KILLED]
    (case_process,) = cluster.wait_for(
        "the case measuring", lambda: _case_workers(worker.pid), 300, every_s=0.5)

    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its task supervisor, at once
    worker.wait()
    cluster.processes.pop(KILLED)  # dead on purpose: not a failure to watch for
    died = _dies_within(case_process, 15)
    cluster.start_worker("default", name=REPLACEMENT)

    run_path = f"/api/v2/dags/segbench_nightly/dagRuns/{run['dag_run_id']}"

    def finished():  # type: ignore[no-untyped-def]
        state = cluster.api("GET", run_path)["state"]
        return state if state in ("success", "failed") else None

    state = cluster.wait_for("the DAG run to finish", finished, 420, every_s=3)
    tis = cluster.api("GET", f"{run_path}/taskInstances")["task_instances"]
    with store.connect(results_url).connect() as conn:
        rows = conn.execute(text(
            "SELECT x.case_key, x.status FROM results x JOIN runs r ON r.id = x.run_pk "
            "WHERE r.run_id = :run ORDER BY x.case_key"), {"run": run["dag_run_id"]}).all()
        stored = conn.execute(text("SELECT state FROM runs WHERE run_id = :run"),
                              {"run": run["dag_run_id"]}).scalar()
    return CeleryNight(run_id=run["dag_run_id"], state=state, task_instances=tis,
                       logs={name: cluster.log(name) for name in WORKERS},
                       case_process_died=died, results=[tuple(r) for r in rows],
                       stored_state=stored)
