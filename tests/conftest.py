"""Shared fixtures: isolated Airflow home, tiny inputs and weights, real results databases.

Airflow reads its configuration when first imported, so its environment is set here,
at conftest import, before any test module imports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="segbench-airflow-"))
os.environ.update({
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    # dag.test() waits out the real retry delay.
    "SEGBENCH_RETRY_DELAY_SECONDS": "1",
})
os.environ.pop("SEGBENCH_DB_URL", None)
os.environ.pop("AIRFLOW_CONN_SEGBENCH_DB", None)

PG_ADMIN_URL = os.environ.get("SEGBENCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's metadata DB (SQLite) for dag.test(), migrated once per session."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy())
    return _AIRFLOW_HOME


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test writes its var/ (SQLite, spool) under its own tmp dir, never the repo's."""
    monkeypatch.setenv("SEGBENCH_HOME", str(tmp_path))
    monkeypatch.delenv("SEGBENCH_DB_URL", raising=False)
    # device locks of its own: a DAG test's bench task must not wait for another test's run
    monkeypatch.setenv("SEGBENCH_LOCK_DIR", str(tmp_path / "locks"))


@pytest.fixture(scope="session")
def tiny_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from segtasks.measure.data import make_synthetic

    folder = tmp_path_factory.mktemp("inputs")
    make_synthetic(folder, count=3, size=96, seed=1)
    return folder


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from segtasks.measure.model import make_weights

    return make_weights(tmp_path_factory.mktemp("weights") / "weights_001.pt", seed=0)


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg2

    try:
        conn = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)  # CI has the server: its absence is a failure, not a skip
        pytest.skip(message)
    conn.autocommit = True
    return conn


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"segbench_test_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from segtasks.store import database

        database.dispose(url)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The results database in both dialects the project supports, schema at head."""
    from segtasks.store import upgrade

    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    upgrade(url)
    return url
