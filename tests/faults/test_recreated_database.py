"""The results database is dropped and recreated between two nights, with a spool file of
the old one left behind: the next night runs and stores correctly, and the stale result
is moved aside, never stored under the new night that got its old run's primary key."""

from __future__ import annotations

import pytest
from factories import result
from sqlalchemy import text

from segtasks import store
from segtasks.store import repository, spool

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def test_the_next_night_runs_and_stores_correctly(private_pg, bench, monkeypatch):
    url = private_pg.url()
    monkeypatch.setenv("SEGBENCH_HOME", str(bench.home))  # the spool the command will read
    old_night = repository.open_run(store.connect(url), dag_id="segbench-cli",
                                    run_id="cli__old", trigger="cli", params={},
                                    code_version="x")
    # the old night's store failed, and its result waits in the spool
    spool.keep(store.resolve_url(url), spool.RunIdentity("segbench-cli", "cli__old"),
               result(images_per_s=999.0))
    store.database.dispose(url)
    private_pg.create_database()  # dropped and recreated at the same URL
    store.upgrade(url)

    proc = bench.start(url, "--batch-sizes", "1")
    out, err = proc.communicate(timeout=240)

    assert proc.returncode == 0, out + err
    assert "its run (segbench-cli / cli__old) is not in this database" in err
    store.database.dispose(url)
    with store.connect(url).connect() as conn:
        runs = conn.execute(text("SELECT id, run_id, state FROM runs")).all()
        rows = conn.execute(text("SELECT run_pk, case_key, images_per_s FROM results")).all()
    ((run_pk, run_id, state),) = runs
    assert (run_pk, state) == (old_night, "success") and run_id != "cli__old"
    ((stored_pk, case_key, images_per_s),) = rows
    assert (stored_pk, case_key) == (run_pk, "cpu-bs1-fp32")
    assert images_per_s != 999.0  # tonight's measurement, not the stale one
    assert list(spool.spool_dir().glob("*.json")) == []
    assert len(list(spool.orphaned_dir().glob("*.json"))) == 1
