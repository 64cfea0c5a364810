import pytest
from factories import result
from sqlalchemy import func, select, text

from segtasks import store
from segtasks.store import repository
from segtasks.store.schema import Result, Sample


def _open(engine, run_id="night-1"):
    return repository.open_run(engine, dag_id="segbench_nightly", run_id=run_id,
                               trigger="scheduled", params={"batch_sizes": [1]},
                               code_version="abc")


def test_round_trip_keeps_every_metric_and_sample(db_url):
    engine = store.connect(db_url)
    run_pk = _open(engine)
    original = result(batch_size=2, images_per_s=12.5, reserved=3 * 2**30)
    repository.save_result(engine, run_pk, original)
    (row,) = repository.run_results(engine, run_pk)
    for name, value in original.columns().items():
        assert getattr(row, name) == value, name
    for name, value in original.case.to_dict().items():  # the case is stored whole
        assert getattr(row, name) == value, name
    assert (row.case_key, row.device, row.batch_size, row.status) == (
        "cpu-bs2-fp32", "cpu", 2, "ok")
    assert (row.precision, row.channels_last, row.threads) == ("fp32", False, None)
    assert [s.latency_ms for s in row.samples] == original.latencies_ms
    assert [[s.preprocess_ms, s.h2d_ms, s.forward_ms, s.postprocess_ms]
            for s in row.samples] == original.phases_ms
    assert row.environment.torch_version == "2.15.0"
    assert row.environment.fingerprint["software"]["torch"] == "2.15.0"


def test_a_retried_write_is_the_same_row_and_another_attempt_is_refused(db_url):
    engine = store.connect(db_url)
    assert _open(engine) == _open(engine)  # a retried open_run finds its run
    run_pk = _open(engine)
    measured = result(images_per_s=9.0, samples=(1.0, 2.0))
    first = repository.save_result(engine, run_pk, measured)
    assert repository.save_result(engine, run_pk, measured) == first  # idempotent
    with pytest.raises(repository.WriteRefused,
                       match="cpu-bs1-fp32 of run 1 is stored already by another attempt"):
        repository.save_result(engine, run_pk, result(status="error", reason="flaky"))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Result)) == 1
        assert conn.scalar(select(func.count()).select_from(Sample)) == 2
    (row,) = repository.run_results(engine, run_pk)
    assert (row.status, row.reason, row.images_per_s) == ("ok", None, 9.0)


def test_every_result_is_plain_sql(db_url):
    engine = store.connect(db_url)
    run_pk = _open(engine)
    repository.save_result(engine, run_pk, result(batch_size=1, images_per_s=4.0))
    repository.save_result(engine, run_pk, result(device="cuda", status="skipped"))
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT r.run_id, x.case_key, x.status, x.images_per_s "
            "FROM results x JOIN runs r ON r.id = x.run_pk ORDER BY x.case_key")).all()
    assert [tuple(r) for r in rows] == [("night-1", "cpu-bs1-fp32", "ok", 4.0),
                                        ("night-1", "cuda-bs1-fp32", "skipped", None)]


def test_an_unreachable_database_is_named_without_its_password():
    with pytest.raises(store.StoreUnavailable) as err:
        store.connect("postgresql://bench:s3cret@127.0.0.1:1/results")
    message = str(err.value)
    assert "cannot reach the results database at" in message
    assert "bench:***@127.0.0.1:1/results" in message and "s3cret" not in message


def test_a_database_without_the_schema_asks_for_an_upgrade(sqlite_url):
    with pytest.raises(store.SchemaOutdated, match="run `segbench db upgrade`"):
        store.connect(sqlite_url)
    store.upgrade(sqlite_url)
    assert store.connect(sqlite_url) is not None


def test_default_database_is_sqlite_under_var_and_airflow_style_urls_work(tmp_path,
                                                                          monkeypatch):
    assert store.resolve_url() == f"sqlite:///{tmp_path / 'var' / 'segbench.db'}"
    monkeypatch.setenv("SEGBENCH_DB_URL", "postgres://u:p@db:5432/results")
    assert store.resolve_url() == "postgresql+psycopg2://u:p@db:5432/results"
    assert store.resolve_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(("table", "value"), [
    ("Run", "Run"), ("Environment", "Environment"), ("Result", "Result"),
    ("Process", "Process"), ("Sample", "Sample"), ("BaselineLevel", "BaselineLevel"),
    ("GoldenOutput", "GoldenOutputs"), ("Comparison", "Verdict")])
def test_every_column_reaches_the_values_the_store_hands_back(table, value):
    """The frozen values (segtasks.domain) hold every column of their table, so that no
    reader needs the ORM row; golden outputs leave their arrays in the store, a sample its
    result's id, and a verdict its row id and time of writing."""
    from dataclasses import fields

    from sqlalchemy import inspect

    from segtasks.domain import records as values
    from segtasks.domain.verdicts import Verdict
    from segtasks.store import schema

    kept_in_store = {"GoldenOutput": {"arrays"}, "Sample": {"result_id"},
                     "Comparison": {"id", "created_at"}}.get(table, set())
    columns = {c.key for c in inspect(getattr(schema, table)).columns} - kept_in_store
    kind = Verdict if value == "Verdict" else getattr(values, value)
    assert columns <= {f.name for f in fields(kind)}
