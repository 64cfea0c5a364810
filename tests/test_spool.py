"""A result measured while the database goes away is kept and stored later, never lost."""

import pytest
from factories import result

from segtasks import launch, nightly, store
from segtasks.plan.case import Case
from segtasks.store import repository, spool

pytestmark = pytest.mark.postgres


def _database_accepts_connections(name: str, accept: bool) -> None:
    from conftest import _pg_admin

    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(accept).lower()}')
        if not accept:  # and drop the connections the benchmark already holds
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    admin.close()


def test_a_result_outlives_the_database_and_is_stored_by_the_retry(pg_url, monkeypatch):
    name = pg_url.rsplit("/", 1)[1]
    store.upgrade(pg_url)
    run_pk = nightly.open_run(db_url=pg_url, dag_id="d", run_id="r", trigger="manual",
                              params=nightly.plan({}))
    case = Case(device="cpu", batch_size=1, seed_images=1, warmup_batches=0)
    measured = result(images_per_s=7.5, samples=(130.0, 135.0))

    def measure_while_the_database_goes_away(*_args, **_kwargs):
        _database_accepts_connections(name, False)
        return measured

    monkeypatch.setattr(launch, "run_case_isolated", measure_while_the_database_goes_away)
    try:
        with pytest.raises(store.StoreUnavailable) as err:
            nightly.bench(case.to_dict(), run_pk, db_url=pg_url)
    finally:
        _database_accepts_connections(name, True)
    assert "will be stored by the next attempt or the next run" in str(err.value)
    (kept,) = spool.spool_dir().glob("*.json")
    assert str(kept) in str(err.value)

    def must_not_measure_again(*_args, **_kwargs):
        raise AssertionError("the retry re-measured a result it already had")

    monkeypatch.setattr(launch, "run_case_isolated", must_not_measure_again)
    summary = nightly.bench(case.to_dict(), run_pk, db_url=pg_url)  # Airflow's retry
    assert summary == {"case_key": "cpu-bs1-fp32", "status": "ok", "reason": None,
                       "images_per_s": 7.5}
    (row,) = repository.run_results(store.connect(pg_url), run_pk)
    assert [s.latency_ms for s in row.samples] == [130.0, 135.0]
    assert list(spool.spool_dir().glob("*.json")) == []


def test_the_next_run_stores_what_an_earlier_run_spooled(pg_url, sqlite_url):
    store.upgrade(pg_url)
    first = nightly.open_run(db_url=pg_url, dag_id="d", run_id="night-1", trigger="scheduled",
                             params=nightly.plan({}))
    spool.keep(store.resolve_url(pg_url), first, result(images_per_s=3.0))
    spool.keep(store.resolve_url(sqlite_url), 99, result())  # another database's: left alone
    nightly.open_run(db_url=pg_url, dag_id="d", run_id="night-2", trigger="scheduled",
                     params=nightly.plan({}))
    (row,) = repository.run_results(store.connect(pg_url), first)
    assert row.images_per_s == 3.0
    assert len(list(spool.spool_dir().glob("*.json"))) == 1
