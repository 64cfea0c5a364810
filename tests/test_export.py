import csv
from datetime import UTC, date, datetime

import pyarrow.parquet as pq
import pytest
from factories import result

from segtasks import store
from segtasks.store import repository
from segtasks.store.export import ExportError, export
from segtasks.store.schema import Run


def _two_nights(engine):
    for day, ips in ((1, 9.0), (20, 10.0)):
        run_pk = repository.open_run(engine, dag_id="d", run_id=f"n{day}", trigger="scheduled",
                                     params={}, code_version="x")
        with repository._session(engine) as session, session.begin():
            session.get_one(Run, run_pk).started_at = datetime(2026, 11, day, 2, tzinfo=UTC)
        repository.save_result(engine, run_pk, result(images_per_s=ips))


def test_export_since_a_date_to_csv_and_parquet(db_url, tmp_path):
    engine = store.connect(db_url)
    _two_nights(engine)
    assert export(engine, date(2026, 11, 10), "csv", tmp_path / "r.csv") == 1
    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["run_id"], r["case_key"], float(r["images_per_s"])) for r in rows] == [
        ("n20", "cpu-bs1-fp32", 10.0)]
    assert export(engine, date(2026, 11, 1), "parquet", tmp_path / "r.parquet") == 2
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.num_rows == 2 and {"torch_version", "latency_p90_ms"} <= set(table.column_names)
    assert table.column("images_per_s").to_pylist() == [9.0, 10.0]


def test_an_unknown_format_is_refused(sqlite_url, tmp_path):
    store.upgrade(sqlite_url)
    with pytest.raises(ExportError, match="unknown export format 'xlsx'"):
        export(store.connect(sqlite_url), date(2026, 1, 1), "xlsx", tmp_path / "x")


def test_a_failed_parquet_write_leaves_the_output_path_in_place(sqlite_url, tmp_path):
    # given a path, pyarrow deletes it when the write fails: run as root, `--output
    # /dev/full` removed the device node. A link to it shows the same without harm.
    store.upgrade(sqlite_url)
    engine = store.connect(sqlite_url)
    _two_nights(engine)
    full = tmp_path / "full.parquet"
    full.symlink_to("/dev/full")
    with pytest.raises(ExportError, match="No space left on device"):
        export(engine, date(2026, 11, 1), "parquet", full)
    assert full.is_symlink()


def test_a_since_that_is_not_a_date_says_the_form_it_takes(capsys):
    from segtasks.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["export", "--since", "yesterday"])
    assert stop.value.code == 2
    assert ("argument --since: expected a date as YYYY-MM-DD, got 'yesterday'"
            in capsys.readouterr().err)
