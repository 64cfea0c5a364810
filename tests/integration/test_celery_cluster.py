"""The nightly on Airflow's own distributed engine, with real processes.

api-server, scheduler, dag-processor and two Celery workers (queue `default` for CPU
cases, queue `gpu` for CUDA cases) run against the local Redis and a fresh PostgreSQL
metadata database (the session's cluster: conftest's `_celery_cluster`). The DAG is
triggered through the REST API with a tiny CPU+CUDA grid: the session's one night on the
cluster (conftest's `celery_night`, tests/celery_night.py), during which the CPU worker
is also killed and replaced (tests/faults/test_celery_worker_killed.py).
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]


def test_celery_workers_run_the_grid_and_the_gpu_queue_records_cuda_as_skipped(
        celery_night):
    night = celery_night  # the session's night on its cluster, with its own results
    assert night.state == "success"

    tis = night.task_instances
    bench = {(t["task_id"], t["map_index"]): t for t in tis if t["task_id"].startswith("bench")}
    assert {(k, t["state"], t["queue"]) for k, t in bench.items()} == {
        (("bench_cpu", 0), "success", "default"), (("bench_cpu", 1), "success", "default"),
        (("bench_cuda", 0), "skipped", "gpu"), (("bench_cuda", 1), "skipped", "gpu"),
    }
    # the Celery workers, not an in-process runner, executed them: each on its own queue
    cpu_log, gpu_log = night.logs["worker-cpu"], night.logs["worker-gpu"]
    assert "bench_cpu" in cpu_log and "bench_cuda" not in cpu_log
    assert "bench_cuda" in gpu_log and "bench_cpu" not in gpu_log

    assert night.results == [
        ("cpu-bs1-fp32", "ok"), ("cpu-bs2-fp32", "ok"),
        ("cuda-bs1-fp32", "skipped"), ("cuda-bs2-fp32", "skipped")]
