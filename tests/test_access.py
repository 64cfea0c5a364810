"""Roles on PostgreSQL: analysts read only; the benchmark itself needs no superuser."""

import uuid

import pytest
from factories import judge, result
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from segtasks import store
from segtasks.store import repository
from segtasks.store.access import AccessError, grant_reader

pytestmark = pytest.mark.postgres


@pytest.fixture
def role_name(pg_databases):
    from conftest import _pg_admin

    name = f"segbench_role_{uuid.uuid4().hex[:8]}"
    yield name
    pg_databases.wait_for_drops()  # test databases are dropped in the background
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f"DROP ROLE IF EXISTS {name}")  # after its databases are dropped
    admin.close()


def _as(url: str, role: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[1]}"


def test_a_reader_can_select_everything_now_and_later_but_write_nothing(role_name, pg_url):
    # role_name first: its teardown (DROP ROLE) must come after the database is dropped
    store.upgrade(pg_url)
    owner = store.connect(pg_url)
    run_pk = repository.open_run(owner, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="x")
    repository.save_result(owner, run_pk, result())
    message = grant_reader(owner, role_name, password="not-used-with-trust-auth")
    assert role_name in message
    with owner.begin() as conn:  # a later migration adds a view: the reader sees it too
        conn.execute(text("CREATE VIEW v_later AS SELECT id FROM runs"))
    reader = create_engine(store.database.normalize(_as(pg_url, role_name)))
    try:
        with reader.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM v_results")) == 1
            assert conn.scalar(text("SELECT count(*) FROM v_later")) == 1
        for statement in ("INSERT INTO runs (dag_id, run_id, trigger, params, started_at, state)"
                          " VALUES ('d', 'x', 'm', '{}', now(), 's')",
                          "DELETE FROM results", "DROP VIEW v_later"):
            with pytest.raises(DBAPIError), reader.begin() as conn:
                conn.execute(text(statement))
    finally:
        reader.dispose()


def test_bad_role_names_and_sqlite_are_refused_clearly(pg_url, sqlite_url):
    store.upgrade(pg_url)
    with pytest.raises(AccessError, match="must be lower-case letters"):
        grant_reader(store.connect(pg_url), "Robert'); DROP TABLE runs;--")
    store.upgrade(sqlite_url)
    with pytest.raises(AccessError, match="read-only roles are a PostgreSQL feature"):
        grant_reader(store.connect(sqlite_url), "analyst")


@pytest.fixture
def owned_database(role_name):
    """A fresh database owned by an ordinary role (no superuser, no CREATEROLE); its URL
    as that role, and the admin connection."""
    from conftest import PG_ADMIN_URL, _pg_admin

    admin = _pg_admin()
    database = f"segbench_test_owned_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {role_name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        cur.execute(f'CREATE DATABASE "{database}" OWNER {role_name}')
    url = _as(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}", role_name)
    try:
        yield url, admin
    finally:
        store.database.dispose(url)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            cur.execute(f"DROP ROLE IF EXISTS {role_name}_r")
        admin.close()


def test_the_benchmark_runs_as_an_ordinary_role_that_owns_its_database(owned_database):
    url, _ = owned_database
    store.upgrade(url)  # migrations, views and all, without superuser rights
    engine = store.connect(url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual",
                                 params={}, code_version="x")
    repository.save_result(engine, run_pk, result())
    assert {v.verdict for v in judge(engine, run_pk)} == {"new"}


def test_an_owner_without_createrole_grants_to_an_existing_reader(owned_database, role_name):
    url, admin = owned_database
    reader = f"{role_name}_r"
    store.upgrade(url)
    engine = store.connect(url)
    with pytest.raises(AccessError, match="may not create or alter roles"):
        grant_reader(engine, reader)
    with admin.cursor() as cur:  # as the compose file's postgres init does
        cur.execute(f"CREATE ROLE {reader} LOGIN")
    assert reader in grant_reader(engine, reader)
    reading = create_engine(store.database.normalize(_as(url, reader)))
    with reading.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM runs")) == 0
    reading.dispose()
