"""Every user-facing failure of the command is one line and a non-zero exit, never a
traceback."""

import sqlite3

import pytest

from segtasks.cli import main


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("segbench: error: ")
    return err


def test_a_report_of_a_run_that_does_not_exist(capsys, sqlite_url):
    from segtasks.store import upgrade

    upgrade(sqlite_url)
    assert main(["report", "9999", "--url", sqlite_url]) == 2
    assert "no run with id 9999" in _one_error_line(capsys)


@pytest.mark.parametrize("where", ["unwritable", "folder is a file", "is a folder"])
def test_an_export_that_cannot_be_written_names_the_file(capsys, sqlite_url, tmp_path, where):
    from segtasks.store import upgrade

    upgrade(sqlite_url)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    output = {"unwritable": "/proc/segbench-export.csv",
              "folder is a file": str(blocker / "out.csv"),
              "is a folder": str(tmp_path)}[where]
    assert main(["export", "--since", "2026-01-01", "--output", output,
                 "--url", sqlite_url]) == 2
    assert f"cannot write {output}: " in _one_error_line(capsys)


@pytest.mark.parametrize(("url", "message"), [
    ("not a url", "the results URL not a url is not usable: Could not parse"),
    ("mysql://bench:s3cret@db/results", "needs the Python package MySQLdb, which is not "
                                        "installed"),
    ("postgresql+nodriver://db/results", "is not usable: Can't load plugin"),
])
@pytest.mark.parametrize("command", [["report"], ["db", "upgrade"], ["db", "current"]])
def test_a_bad_results_url_or_a_missing_driver(capsys, url, message, command):
    assert main([*command, "--url", url]) == 2
    err = _one_error_line(capsys)
    assert message in err and "s3cret" not in err


def test_db_upgrade_refuses_a_database_that_holds_someone_elses_tables(capsys, tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (x INTEGER)")
        conn.execute("CREATE TABLE results (y INTEGER)")
    assert main(["db", "upgrade", "--url", f"sqlite:///{path}"]) == 2
    assert "already holds tables named results, runs that segbench did not create" in \
        _one_error_line(capsys)
    with sqlite3.connect(path) as conn:  # left as it was
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"runs", "results"}


def test_db_upgrade_refuses_foreign_tables_in_postgresql_too(capsys, pg_url):
    from sqlalchemy import create_engine, text

    from segtasks.store.database import normalize

    engine = create_engine(normalize(pg_url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE results (y INTEGER)"))
    engine.dispose()
    assert main(["db", "upgrade", "--url", pg_url]) == 2
    assert "already holds tables named results" in _one_error_line(capsys)


def test_bisecting_a_run_that_does_not_exist_or_with_a_bad_budget(capsys, sqlite_url):
    from segtasks.store import upgrade

    upgrade(sqlite_url)
    assert main(["bisect", "--run", "9999", "--case", "cpu-bs1-fp32", "--url", sqlite_url]) == 2
    assert "no run with id 9999" in _one_error_line(capsys)
    assert main(["bisect", "--run", "1", "--case", "cpu-bs1-fp32", "--budget-s", "nan",
                 "--url", sqlite_url]) == 2
    assert "--budget-s must be a number of seconds of at least 0, not nan" in \
        _one_error_line(capsys)


def test_bisecting_a_case_with_no_paired_verdict_says_so(capsys, sqlite_url):
    from segtasks import store
    from segtasks.store import repository, upgrade

    upgrade(sqlite_url)
    run_pk = repository.open_run(store.connect(sqlite_url), dag_id="segbench_nightly",
                                 run_id="unpaired", trigger="manual", params={},
                                 code_version="x")
    assert main(["bisect", "--run", str(run_pk), "--case", "cpu-bs1-fp32",
                 "--url", sqlite_url]) == 2
    assert (f"run {run_pk} has no paired regression or improvement of cpu-bs1-fp32 on "
            "images_per_s to bisect") in _one_error_line(capsys)
