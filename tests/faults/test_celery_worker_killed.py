"""The Celery worker running a bench task is killed with SIGKILL mid-case: its case process
dies with it (no orphan keeps measuring), Airflow retries the task on another worker, the
case is stored exactly once and the run finishes.

The night is the session's one night on its Celery cluster (conftest's `celery_night`,
tests/celery_night.py), whose grid tests/integration/test_celery_cluster.py judges too:
the worker killed is the one of the first CPU case to measure.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.postgres]


def test_the_task_is_retried_and_the_case_stored_once(celery_night):
    night = celery_night  # the session's night on its cluster, with its own results
    assert night.case_process_died  # within 15 s of its worker's kill
    assert night.state == "success"
    # the killed case's task was retried (its second try succeeded); the other CPU case,
    # which waited for the pool's one slot, ran once
    bench = [t for t in night.task_instances if t["task_id"] == "bench_cpu"]
    assert sorted((t["state"], t["try_number"]) for t in bench) == [
        ("success", 1), ("success", 2)]
    assert "bench_cpu" in night.logs["worker-cpu-2"]

    # every case stored exactly once, the killed one included
    assert night.results == [("cpu-bs1-fp32", "ok"), ("cpu-bs2-fp32", "ok"),
                             ("cuda-bs1-fp32", "skipped"), ("cuda-bs2-fp32", "skipped")]
    assert night.stored_state == "success"
