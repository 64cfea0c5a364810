"""Real baseline nights, made once per pytest session and shared by the tests that build
on them (the DAG's sequence tests, the browser tests).

Three ordinary nights run through the real DAG (dag.test(), a tiny grid: CPU and CUDA,
batch sizes 1 and 2, one CPU thread) into a PostgreSQL database at head. That database
is then only a template: each test gets its own copy (CREATE DATABASE ... TEMPLATE) and
adds its own nights on top, so no test sees another's. Three nights are judged as
nothing yet (min_history is 3), so they are the same whatever thresholds a test judges
its own nights with.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "segbench_nightly"
NIGHTS = 3
START = datetime(2026, 11, 1, 2, tzinfo=UTC)
# a fast protocol; the validity checks are off, since the test machine is shared and busy
# (they are tested on their own: test_interference, test_attempts); one CPU thread: the
# quietest setting on a shared 2-core machine (README: CV ~6% vs 13%)
CONF: dict[str, Any] = {
    "devices": ["cpu", "cuda"], "batch_sizes": [1, 2], "cpu_threads": [1], "n_images": 2,
    "warmup_batches": 1, "warmup_seconds": 0, "min_batches": 8, "min_seconds": 0.01,
    "max_seconds": 0.3, "end_to_end_seconds": 0, "end_to_end_passes": 1,
    "max_interference": 1, "max_steal": 1}


@dataclass(frozen=True)
class BaselineNights:
    template: str  # the PostgreSQL database to copy; nobody stays connected to it
    run_ids: list[str]  # oldest first
    states: list[str]  # each night's DAG run state
    # the first night's task instances: (task id, map index) -> state
    first_night_tasks: dict[tuple[str, int], str] = field(default_factory=dict)
    conf: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(CONF))

    @staticmethod
    def logical_date(night: int) -> datetime:
        """Night 0 is the first baseline night; night NIGHTS is the first a test adds."""
        return START + timedelta(days=night)


def fresh_dag():  # type: ignore[no-untyped-def]
    """The DAG parsed anew: dag.test() leaves a run's conf in the DAG's params."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def results_through_connection(env: pytest.MonkeyPatch, url: str) -> None:
    """dag.test() runs write to `url`, found through the Airflow connection as a deployment
    would configure it."""
    env.setenv("AIRFLOW_CONN_SEGBENCH_DB", url.replace("postgresql://", "postgres://"))
    env.delenv("SEGBENCH_DB_URL", raising=False)


def make(url: str, name: str, home: Path, inputs: Path, weights: Path) -> BaselineNights:
    """Runs the baseline nights into `url` (database `name`, at head) and closes every
    connection to it, so that it can be copied."""
    from segtasks import store

    run_ids, states = [], []
    with pytest.MonkeyPatch.context() as env:
        results_through_connection(env, url)
        for variable, value in {"SEGBENCH_HOME": str(home), "SEGBENCH_INPUTS": str(inputs),
                                "SEGBENCH_WEIGHTS": str(weights)}.items():
            env.setenv(variable, value)
        for night in range(NIGHTS):
            dag_run = fresh_dag().test(run_conf=copy.deepcopy(CONF),
                                       logical_date=BaselineNights.logical_date(night))
            run_ids.append(dag_run.run_id)
            states.append(dag_run.state)
            if night == 0:
                first = {(ti.task_id, ti.map_index): ti.state
                         for ti in dag_run.get_task_instances()}
    store.database.dispose(url)
    return BaselineNights(template=name, run_ids=run_ids, states=states,
                          first_night_tasks=first)
