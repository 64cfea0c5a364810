"""The nightly on Airflow's own distributed engine, with real processes.

api-server, scheduler, dag-processor and two Celery workers (queue `default` for CPU
cases, queue `gpu` for CUDA cases) run against the local Redis and a fresh PostgreSQL
metadata database. The DAG is triggered through the REST API with a tiny CPU+CUDA grid.
"""

from __future__ import annotations

import uuid

import pytest
from airflow_cluster import Cluster
from sqlalchemy import text

from segtasks import store

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]

GRID = {"devices": ["cpu", "cuda"], "batch_sizes": [1, 2], "n_images": 1,
        "warmup_batches": 0, "warmup_seconds": 0, "min_seconds": 0.01, "max_seconds": 0.3}


def _redis_url() -> str:
    import redis

    url = "redis://127.0.0.1:6379/7"
    try:
        # a database of its own, emptied: no message left by an earlier run is picked up
        redis.Redis.from_url(url, socket_connect_timeout=3).flushdb()
    except redis.exceptions.ConnectionError as exc:
        import os

        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {url} is not reachable: {exc}")
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    return url


@pytest.fixture
def cluster(tmp_path, pg_url, tiny_inputs, weights_file):
    from conftest import PG_ADMIN_URL, _pg_admin

    broker = _redis_url()
    metadata = f"segbench_test_airflow_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{metadata}"')
    store.upgrade(pg_url)
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
    home = tmp_path / "airflow"
    home.mkdir()
    the_cluster = Cluster(
        home=home, metadata_url=f"{base}/{metadata}", results_url=pg_url, broker_url=broker,
        extra_env={"SEGBENCH_INPUTS": str(tiny_inputs), "SEGBENCH_WEIGHTS": str(weights_file),
                   "SEGBENCH_HOME": str(tmp_path)},
    )
    try:
        the_cluster.run("db", "migrate")
        the_cluster.run("pools", "set", "cpu_bench", "1", "one CPU benchmark at a time")
        the_cluster.run("pools", "set", "gpu_bench", "1", "one benchmark per GPU")
        the_cluster.start("api-server", "api-server", "--port", str(the_cluster.port))
        the_cluster.start("scheduler", "scheduler")
        the_cluster.start("dag-processor", "dag-processor")
        the_cluster.start("worker-cpu", "celery", "worker", "-q", "default", "-c", "1",
                          "-H", "cpu-worker@%h", "--skip-serve-logs")
        the_cluster.start("worker-gpu", "celery", "worker", "-q", "gpu", "-c", "1",
                          "-H", "gpu-worker@%h", "--skip-serve-logs")
        yield the_cluster
    finally:
        the_cluster.stop()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{metadata}" WITH (FORCE)')
        admin.close()


def test_celery_workers_run_the_grid_and_the_gpu_queue_records_cuda_as_skipped(cluster,
                                                                                pg_url):
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
