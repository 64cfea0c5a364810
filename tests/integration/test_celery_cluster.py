"""The nightly on Airflow's own distributed engine, with real processes.

api-server, scheduler, dag-processor and two Celery workers (queue `default` for CPU
cases, queue `gpu` for CUDA cases) run against the local Redis and a fresh PostgreSQL
metadata database (the session's cluster: conftest's `celery`). The DAG is triggered
through the REST API with a tiny CPU+CUDA grid.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from segtasks import store

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]

# a fast protocol; the end-to-end pass and the validity checks are off (this test is about
# where tasks run; a busy shared machine re-measures disturbed cases, minutes in all)
GRID = {"devices": ["cpu", "cuda"], "batch_sizes": [1, 2], "n_images": 1,
        "warmup_batches": 0, "warmup_seconds": 0, "min_seconds": 0.01, "max_seconds": 0.3,
        "end_to_end_seconds": 0, "end_to_end_passes": 1, "max_interference": 1,
        "max_steal": 1}


def test_celery_workers_run_the_grid_and_the_gpu_queue_records_cuda_as_skipped(
        celery, pg_url_at_head):
    cluster, pg_url = celery, pg_url_at_head  # the session's cluster; this test's results
    cluster.wait_for("the API", lambda: cluster.api("GET", "/api/v2/monitor/health"), 180)
    cluster.wait_for("the DAG to be parsed",
                     lambda: cluster.api("GET", "/api/v2/dags/segbench_nightly"), 180)
    run = cluster.api("POST", "/api/v2/dags/segbench_nightly/dagRuns",
                      {"logical_date": None, "conf": GRID})
    run_path = f"/api/v2/dags/segbench_nightly/dagRuns/{run['dag_run_id']}"

    def finished():
        state = cluster.api("GET", run_path)["state"]
        return state if state in ("success", "failed") else None

    assert cluster.wait_for("the DAG run to finish", finished, 420, every_s=5) == "success"

    tis = cluster.api("GET", f"{run_path}/taskInstances")["task_instances"]
    bench = {(t["task_id"], t["map_index"]): t for t in tis if t["task_id"].startswith("bench")}
    assert {(k, t["state"], t["queue"]) for k, t in bench.items()} == {
        (("bench_cpu", 0), "success", "default"), (("bench_cpu", 1), "success", "default"),
        (("bench_cuda", 0), "skipped", "gpu"), (("bench_cuda", 1), "skipped", "gpu"),
    }
    # the Celery workers, not an in-process runner, executed them: each on its own queue
    cpu_log, gpu_log = cluster.log("worker-cpu"), cluster.log("worker-gpu")
    assert "bench_cpu" in cpu_log and "bench_cuda" not in cpu_log
    assert "bench_cuda" in gpu_log and "bench_cpu" not in gpu_log

    with store.connect(pg_url).connect() as conn:
        rows = conn.execute(text(
            "SELECT x.case_key, x.status FROM results x JOIN runs r ON r.id = x.run_pk "
            "WHERE r.run_id = :run ORDER BY x.case_key"), {"run": run["dag_run_id"]}).all()
    assert [tuple(r) for r in rows] == [
        ("cpu-bs1-fp32", "ok"), ("cpu-bs2-fp32", "ok"),
        ("cuda-bs1-fp32", "skipped"), ("cuda-bs2-fp32", "skipped")]
