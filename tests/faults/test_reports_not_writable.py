"""The reports folder cannot be written: the results are still stored, the night still
gets its verdicts, and the error names the folder."""

from __future__ import annotations

import os

import pytest
from factories import result
from sqlalchemy import text

from segtasks import nightly, store
from segtasks.report import files
from segtasks.store import repository

pytestmark = [pytest.mark.faults]


def _block_reports(home):
    """A reports folder that cannot be written. Root writes through file modes, and this
    suite must run as root on CI, so there a file stands where the folder should be."""
    reports = home / "var" / "reports"
    reports.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        reports.write_text("a file where the reports folder should be")
        return f"{reports} is a file, not a folder"
    reports.mkdir()
    reports.chmod(0o555)
    return "Permission denied"


@pytest.mark.slow
def test_through_the_command_results_and_verdicts_are_stored(private_pg, bench):
    url = private_pg.url()
    why = _block_reports(bench.home)
    proc = bench.start(url, "--batch-sizes", "1")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 1, out + err
    folder = files.default_folder(1, store.masked(store.resolve_url(url)))
    folder = bench.home / folder.relative_to(folder.parents[3])  # under its own home
    assert err.strip() == (f"segbench: run 1 has 1 problem: the report could not be written "
                           f"to {folder}: {why}")
    store.database.dispose(url)
    with store.connect(url).connect() as conn:
        assert conn.execute(text("SELECT state FROM runs")).scalar() == "success"
        assert conn.execute(text("SELECT status FROM results")).scalar() == "ok"
        assert conn.execute(text(
            "SELECT verdict FROM comparisons WHERE metric = 'images_per_s'")).scalar() == "new"


def test_a_full_disk_is_named_too(sqlite_url):
    """/dev/full fails every write with ENOSPC: a full disk, without mounting anything."""
    store.upgrade(sqlite_url)
    engine = store.connect(sqlite_url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="x")
    repository.save_result(engine, run_pk, result())
    folder = files.default_folder(run_pk, store.masked(sqlite_url))
    folder.mkdir(parents=True)
    (folder / "report.md").symlink_to("/dev/full")
    params = nightly.plan({"devices": ["cpu"], "batch_sizes": [1]})
    outcome = nightly.judge_and_close(run_pk, params, db_url=sqlite_url)
    assert outcome.problems == [f"the report could not be written to {folder}: "
                                "No space left on device"]
    assert outcome.html_path is None and "## Verdicts" in outcome.text
    assert repository.get_run(engine, run_pk).state == "success"
    assert {c.verdict for c in repository.run_comparisons(engine, run_pk)} == {"new"}
