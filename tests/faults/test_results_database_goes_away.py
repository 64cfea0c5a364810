"""The results PostgreSQL stops while a case is measuring, and comes back: the result is
spooled, then stored exactly once, through the command and through the DAG."""

from __future__ import annotations

import tempfile
import threading

import pytest
from sqlalchemy import text

from faults.fault_tools import ROOT, wait_for
from segtasks import store

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def _outage(cluster, case_folders, spooled) -> threading.Thread:
    """Stop the server once a case is measuring; start it again once the result is spooled."""
    def run() -> None:
        wait_for("a case measuring", case_folders)
        cluster.stop()
        wait_for("a spooled result", spooled)
        cluster.start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _stored(url):
    with store.connect(url).connect() as conn:
        results = conn.execute(text(
            "SELECT case_key, status FROM results ORDER BY case_key")).all()
        runs = conn.execute(text("SELECT state FROM runs")).scalars().all()
    return [tuple(r) for r in results], runs


def test_through_the_command(private_pg, bench):
    url = private_pg.url()
    outage = _outage(private_pg, bench.case_folders, bench.spooled)
    proc = bench.start(url)
    out, err = proc.communicate(timeout=240)
    outage.join(timeout=5)
    assert proc.returncode == 0, out + err
    assert "[1/2] cpu-bs1-fp32: not stored" in out, out
    assert "is kept in" in out and "will be stored by the next attempt or the next run" in out
    assert "[2/2] cpu-bs2-fp32: ok" in out
    store.database.dispose(url)
    assert _stored(url) == ([("cpu-bs1-fp32", "ok"), ("cpu-bs2-fp32", "ok")], ["success"])
    assert bench.spooled() == [] and bench.case_folders() == []


def test_through_the_dag(private_pg, bench, airflow_db, monkeypatch, tmp_path):
    from test_dag import TINY_GRID

    from segtasks.store import spool

    url = private_pg.url()
    monkeypatch.setenv("AIRFLOW_CONN_SEGBENCH_DB", url.replace("postgresql://", "postgres://"))
    monkeypatch.setenv("SEGBENCH_INPUTS", str(bench.inputs))
    monkeypatch.setenv("SEGBENCH_WEIGHTS", str(bench.weights))
    monkeypatch.setenv("SEGBENCH_RETRY_DELAY_SECONDS", "3")  # time for the server to return
    monkeypatch.setattr(tempfile, "tempdir", str(bench.tmp))
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["segbench_nightly"]
    outage = _outage(private_pg, bench.case_folders,
                     lambda: sorted(spool.spool_dir().glob("*.json")))
    dag_run = dag.test(run_conf={**TINY_GRID, "devices": ["cpu"], "batch_sizes": [1],
                                 "min_batches": 6})
    outage.join(timeout=5)
    tries = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success"
    assert tries["bench_cpu"] == ("success", 2)  # the retry stored the spooled result
    store.database.dispose(url)
    assert _stored(url) == ([("cpu-bs1-fp32", "ok")], ["success"])
    assert sorted(spool.spool_dir().glob("*.json")) == []
