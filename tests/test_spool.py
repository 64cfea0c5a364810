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
    run = nightly.open_run(db_url=pg_url, dag_id="d", run_id="r", trigger="manual",
                           params=nightly.plan({}))
    case = Case(device="cpu", batch_size=1, seed_images=1, warmup_batches=0)
    measured = result(images_per_s=7.5, samples=(130.0, 135.0))

    def measure_while_the_database_goes_away(*_args, **_kwargs):
        _database_accepts_connections(name, False)
        return measured

    monkeypatch.setattr(launch, "run_case_isolated", measure_while_the_database_goes_away)
    try:
        with pytest.raises(store.StoreUnavailable) as err:
            nightly.bench(case.to_dict(), run, db_url=pg_url)
    finally:
        _database_accepts_connections(name, True)
    assert "will be stored by the next attempt or the next run" in str(err.value)
    (kept,) = spool.spool_dir().glob("*.json")
    assert str(kept) in str(err.value)

    def must_not_measure_again(*_args, **_kwargs):
        raise AssertionError("the retry re-measured a result it already had")

    monkeypatch.setattr(launch, "run_case_isolated", must_not_measure_again)
    summary = nightly.bench(case.to_dict(), run, db_url=pg_url)  # Airflow's retry
    assert summary == {"case_key": "cpu-bs1-fp32", "status": "ok", "reason": None,
                       "images_per_s": 7.5, "stable": True}
    (row,) = repository.run_results(store.connect(pg_url), run.pk)
    assert [s.latency_ms for s in row.samples] == [130.0, 135.0]
    assert list(spool.spool_dir().glob("*.json")) == []


def test_the_next_run_stores_what_an_earlier_run_spooled(pg_url, sqlite_url):
    store.upgrade(pg_url)
    first = nightly.open_run(db_url=pg_url, dag_id="d", run_id="night-1", trigger="scheduled",
                             params=nightly.plan({}))
    spool.keep(store.resolve_url(pg_url), spool.RunIdentity("d", "night-1"),
               result(images_per_s=3.0))
    # another database's: left alone
    spool.keep(store.resolve_url(sqlite_url), spool.RunIdentity("d", "x"), result())
    nightly.open_run(db_url=pg_url, dag_id="d", run_id="night-2", trigger="scheduled",
                     params=nightly.plan({}))
    (row,) = repository.run_results(store.connect(pg_url), first.pk)
    assert row.images_per_s == 3.0
    assert len(list(spool.spool_dir().glob("*.json"))) == 1


def _recreate(pg_url):
    from conftest import _pg_admin

    from segtasks.store import database

    name = pg_url.rsplit("/", 1)[1]
    database.dispose(pg_url)
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    store.upgrade(pg_url)


def test_a_spooled_result_of_a_dropped_database_is_moved_aside_never_stored_elsewhere(
    pg_url, caplog
):
    store.upgrade(pg_url)
    old = nightly.open_run(db_url=pg_url, dag_id="d", run_id="old-night", trigger="scheduled",
                           params=nightly.plan({}))
    spool.keep(store.resolve_url(pg_url), spool.RunIdentity("d", "old-night"),
               result(images_per_s=999.0))
    _recreate(pg_url)  # same URL, empty: primary keys start again at 1

    new = nightly.open_run(db_url=pg_url, dag_id="d", run_id="new-night", trigger="scheduled",
                           params=nightly.plan({}))

    assert new.pk == old.pk  # the same primary key, handed to another run
    assert new.token != old.token
    assert repository.run_results(store.connect(pg_url), new.pk) == []  # nothing misfiled
    assert list(spool.spool_dir().glob("*.json")) == []
    (moved,) = spool.orphaned_dir().glob("*.json")
    assert "its run (d / old-night) is not in this database" in caplog.text
    assert str(moved) in caplog.text


def test_a_spool_file_that_names_its_run_by_primary_key_only_is_moved_aside(pg_url):
    import json

    store.upgrade(pg_url)
    run_pk = nightly.open_run(db_url=pg_url, dag_id="d", run_id="n", trigger="scheduled",
                              params=nightly.plan({})).pk
    spool.spool_dir().mkdir(parents=True)
    old_format = spool.spool_dir() / f"{spool._prefix(store.resolve_url(pg_url))}-run1-x.json"
    old_format.write_text(json.dumps({"run_pk": run_pk, "result": result().to_dict()}))
    nightly.open_run(db_url=pg_url, dag_id="d", run_id="n2", trigger="scheduled",
                     params=nightly.plan({}))
    assert repository.run_results(store.connect(pg_url), run_pk) == []
    assert [p.name for p in spool.orphaned_dir().iterdir()] == [old_format.name]


def test_a_spooled_result_whose_case_is_stored_already_is_dropped_not_stored_twice(pg_url):
    store.upgrade(pg_url)
    run_pk = nightly.open_run(db_url=pg_url, dag_id="d", run_id="n", trigger="scheduled",
                              params=nightly.plan({})).pk
    engine = store.connect(pg_url)
    repository.save_result(engine, run_pk, result(images_per_s=5.0))
    spool.keep(store.resolve_url(pg_url), spool.RunIdentity("d", "n"),
               result(images_per_s=1.0))
    assert spool.flush(engine, store.resolve_url(pg_url)) == [(run_pk, "cpu-bs1-fp32")]
    (row,) = repository.run_results(engine, run_pk)
    assert row.images_per_s == 5.0
    assert list(spool.spool_dir().rglob("*.json")) == []
