"""Results databases for tests, made fast: migrated once per pytest process, copied per test.

Migrating a fresh database costs about 2 s (Alembic runs every revision); copying one at
head costs a tenth of that. PostgreSQL copies with `CREATE DATABASE ... TEMPLATE`, SQLite
by copying the file. A PostgreSQL DROP DATABASE forces a checkpoint (about 2 s on the shared
server), so test databases are dropped by a background thread while the next tests run.

Every pytest process (each xdist worker) has its own template: names carry a random part,
so several checkouts can run the suite against one server at once.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("SEGBENCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(message: str) -> None:
    """Skip a test whose service is missing here; on CI the service is part of the job, so
    its absence fails the test instead."""
    if on_ci():
        pytest.fail(message)
    pytest.skip(message)


def pg_admin():  # type: ignore[no-untyped-def]
    """An autocommit connection to the admin database (skips, or fails on CI, without it)."""
    import psycopg2

    try:
        conn = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        unavailable(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    conn.autocommit = True
    return conn


def pg_url_of(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class PostgresDatabases:
    """Creates test databases (empty, or copies of a template) and drops them in the
    background; `close()` waits for every drop."""

    def __init__(self) -> None:
        self._admin = pg_admin()
        # the dropper has its own connection: a drop (seconds) must not hold up a create
        self._dropper_admin = pg_admin()
        self._drops: queue.Queue[str | None] = queue.Queue()
        self._dropper = threading.Thread(target=self._drop_forever, daemon=True,
                                         name="segbench-test-db-dropper")
        self._dropper.start()

    def _execute(self, sql: str, admin=None) -> None:  # type: ignore[no-untyped-def]
        with (admin or self._admin).cursor() as cur:
            cur.execute(sql)

    def create(self, prefix: str = "segbench_test", template: str | None = None) -> str:
        """A new database's name: empty (from template0's copy), or a copy of `template`,
        which nobody may be connected to."""
        name = unique_name(prefix)
        self._execute(f'CREATE DATABASE "{name}"'
                      + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_later(self, name: str) -> None:
        self._drops.put(name)

    def drop_now(self, name: str, admin=None) -> None:  # type: ignore[no-untyped-def]
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin)

    def wait_for_drops(self) -> None:
        """Returns once every database handed to `drop_later` is gone (e.g. before
        dropping a role that owns objects in them)."""
        self._drops.join()

    def _drop_forever(self) -> None:
        while (name := self._drops.get()) is not None:
            try:
                self.drop_now(name, self._dropper_admin)
            except Exception as exc:  # noqa: BLE001 - a leftover database fails no test
                print(f"could not drop test database {name}: {exc}")
            finally:
                self._drops.task_done()

    def close(self) -> None:
        self._drops.put(None)
        self._dropper.join(timeout=300)
        self._admin.close()
        self._dropper_admin.close()


def migrated_pg_template(databases: PostgresDatabases) -> str:
    """A PostgreSQL database at the schema's head, to copy; its engines are closed, since
    PostgreSQL copies only a database nobody is connected to."""
    from segtasks import store

    name = databases.create("segbench_template")
    url = pg_url_of(name)
    store.upgrade(url)
    store.database.dispose(url)
    return name


def migrated_sqlite_template(folder: Path) -> Path:
    from segtasks import store

    path = folder / "template.db"
    url = f"sqlite:///{path}"
    store.upgrade(url)
    store.database.dispose(url)
    return path


def copy_sqlite(template: Path, dest: Path) -> str:
    shutil.copyfile(template, dest)
    return f"sqlite:///{dest}"
