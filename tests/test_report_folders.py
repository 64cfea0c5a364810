"""Reports of different results databases never share a folder; the report names its
database."""

from factories import result

from segtasks import nightly, paths, store
from segtasks.report import files
from segtasks.store import repository


def test_each_database_has_a_report_folder_of_its_own():
    sqlite_a = files.default_folder(1, "sqlite:////srv/a/segbench.db")
    sqlite_b = files.default_folder(1, "sqlite:////srv/b/segbench.db")
    pg = files.default_folder(1, "postgresql+psycopg2://bench:***@db:5432/segbench")
    assert len({sqlite_a, sqlite_b, pg}) == 3
    assert pg.name == sqlite_a.name == "run-1"
    assert pg.parent.name.startswith("postgresql-segbench-")
    assert sqlite_a.parent.name.startswith("sqlite-segbench-")
    assert sqlite_a.parent.parent == paths.var_dir() / "reports"


def test_the_night_writes_its_report_under_its_database_and_names_it(db_url):
    engine = store.connect(db_url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="x")
    repository.save_result(engine, run_pk, result())
    params = nightly.plan({"devices": ["cpu"], "batch_sizes": [1]})
    outcome = nightly.judge_and_close(run_pk, params, db_url=db_url)
    masked = store.masked(store.resolve_url(db_url))
    assert outcome.html_path == files.default_folder(run_pk, masked) / "report.html"
    assert f"Results database: {masked}" in (outcome.html_path.parent / "report.md").read_text()
