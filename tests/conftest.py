"""Shared fixtures: isolated Airflow home, tiny inputs and weights, real results databases.

Airflow reads its configuration when first imported, so its environment is set here,
at conftest import, before any test module imports it. Each pytest process (each xdist
worker under `make test`) has its own Airflow home, device-lock folder and databases.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from databases import PG_ADMIN_URL, PostgresDatabases, copy_sqlite, pg_admin, pg_url_of

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
    # The device locks of this pytest process only: a `segbench run` under test must not
    # wait for one that another worker, or another checkout's suite, is running.
    "SEGBENCH_LOCK_DIR": tempfile.mkdtemp(prefix="segbench-test-locks-"),
})
os.environ.pop("SEGBENCH_DB_URL", None)
os.environ.pop("AIRFLOW_CONN_SEGBENCH_DB", None)

pytest_plugins = ["timeline"]  # SEGBENCH_TEST_TIMELINE=<file>: where the time goes
__all__ = ["PG_ADMIN_URL", "_pg_admin"]  # imported by tests that make their own databases
_pg_admin = pg_admin


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist (`--dist loadgroup`), tests that share a costly session resource, or
    that must not overlap, run as one group on one worker; every other test is spread
    (tests/xdist_groups.py)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is not None:
        from xdist_groups import record

        folder = config._tmp_path_factory.getbasetemp().parent  # type: ignore[attr-defined]
        record(items, folder, worker)


def pytest_xdist_make_scheduler(config: pytest.Config, log):  # type: ignore[no-untyped-def]
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist_groups import GroupScheduling

    return GroupScheduling(config, log)


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Airflow's metadata DB (SQLite) for dag.test(), migrated once per `make test`: the
    first xdist worker to need it migrates it (half a minute on a busy machine), the
    others copy the file into their own Airflow home."""
    from filelock import FileLock

    if "PYTEST_XDIST_WORKER" not in os.environ:
        _migrate_airflow_db()
        return _AIRFLOW_HOME
    shared = tmp_path_factory.getbasetemp().parent / "airflow-metadata.db"
    with FileLock(f"{shared}.lock"):
        if shared.exists():
            shutil.copyfile(shared, _AIRFLOW_HOME / "airflow.db")
        else:
            _migrate_airflow_db()
            shutil.copyfile(_AIRFLOW_HOME / "airflow.db", shared)
    return _AIRFLOW_HOME


def _migrate_airflow_db() -> None:
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy())


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


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PostgresDatabases]:
    """Creates this session's PostgreSQL test databases and drops them in the background."""
    databases = PostgresDatabases()
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(scope="session")
def pg_template(pg_databases: PostgresDatabases) -> Iterator[str]:
    """A PostgreSQL database migrated to head once per session, copied by `pg_url_at_head`."""
    from databases import migrated_pg_template

    name = migrated_pg_template(pg_databases)
    yield name
    pg_databases.drop_later(name)


def _pg_database(databases: PostgresDatabases, template: str | None) -> Iterator[str]:
    from segtasks.store import database

    name = databases.create(template=template)
    url = pg_url_of(name)
    try:
        yield url
    finally:
        database.dispose(url)
        databases.drop_later(name)


@pytest.fixture
def pg_url(pg_databases: PostgresDatabases) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    yield from _pg_database(pg_databases, None)


@pytest.fixture
def pg_url_at_head(pg_databases: PostgresDatabases, pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database with the schema at head (a copy of the session's
    migrated template), dropped afterwards."""
    yield from _pg_database(pg_databases, pg_template)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite results file migrated to head once per session, copied by
    `sqlite_url_at_head`."""
    from databases import migrated_sqlite_template

    return migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture
def sqlite_url_at_head(sqlite_template: Path, tmp_path: Path) -> str:
    """`sqlite_url`'s file, with the schema at head."""
    return copy_sqlite(sqlite_template, tmp_path / "results.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The results database in both dialects the project supports, schema at head."""
    return request.getfixturevalue(
        "sqlite_url_at_head" if request.param == "sqlite" else "pg_url_at_head")


@pytest.fixture(scope="session")
def _celery_cluster(tmp_path_factory: pytest.TempPathFactory, pg_databases: PostgresDatabases,
                    pg_template: str, tiny_inputs: Path, weights_file: Path):  # type: ignore[no-untyped-def]
    """One real CeleryExecutor cluster per session (tests/airflow_cluster.py)."""
    from contextlib import ExitStack

    from airflow_cluster import celery_cluster

    folder = tmp_path_factory.mktemp("celery")
    fallback_results = pg_databases.create(template=pg_template)
    env = {"SEGBENCH_INPUTS": str(tiny_inputs), "SEGBENCH_WEIGHTS": str(weights_file),
           "SEGBENCH_HOME": str(folder),
           # a test plants a one-off slowdown by writing this file (see `celery`)
           "SEGBENCH_TEST_ONE_OFF_DELAY_FILE": str(folder / "one-off-delay-ms"),
           # the scheduler notices a task whose worker died within seconds, not minutes
           "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
           "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
           "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "2"}
    try:
        with ExitStack() as stack:
            cluster = stack.enter_context(
                celery_cluster(folder / "airflow", pg_url_of(fallback_results), env))
            _CLUSTER_STOPS.append(stack.close)
            yield cluster
    finally:
        pg_databases.drop_later(fallback_results)


# Stops the session's Celery cluster (closing an ExitStack twice is harmless)
_CLUSTER_STOPS: list = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    """After the last test that uses the session's Celery cluster (and its own fixtures'
    teardown), the cluster stops: its scheduler, api-server, dag-processor and workers
    would otherwise poll on until the session ends, on CPU the other tests need."""
    yield
    if "_celery_cluster" not in getattr(item, "fixturenames", ()):
        return
    later = item.session.items[item.session.items.index(item) + 1:]
    if not any("_celery_cluster" in getattr(i, "fixturenames", ()) for i in later):
        while _CLUSTER_STOPS:
            _CLUSTER_STOPS.pop()()


@pytest.fixture
def celery(_celery_cluster, pg_url_at_head: str):  # type: ignore[no-untyped-def]
    """The session's Celery cluster as a new test expects it: api-server, scheduler,
    dag-processor, a worker on queue `default` (`worker-cpu`) and one on `gpu`
    (`worker-gpu`), results going to this test's own database (`pg_url_at_head`), logs
    read from the test's start. `one_off_delay_file` plants a slowdown that only the
    first case process to start measuring takes."""
    cluster = _celery_cluster
    cluster.one_off_delay_file.unlink(missing_ok=True)
    cluster.begin_test(("default", "gpu"), pg_url_at_head)
    yield cluster
    cluster.one_off_delay_file.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def celery_night(_celery_cluster, pg_databases: PostgresDatabases, pg_template: str
                 ):  # type: ignore[no-untyped-def]
    """One night on the session's Celery cluster, made once for the two tests that judge
    it (tests/celery_night.py): the grid, with the worker of the first CPU case killed
    mid-case. Its results go to a database of its own, at head."""
    import celery_night as night

    from segtasks.store import database

    cluster = _celery_cluster
    name = pg_databases.create(template=pg_template)
    url = pg_url_of(name)
    cluster.one_off_delay_file.unlink(missing_ok=True)
    cluster.begin_test(("default", "gpu"), url)
    try:
        yield night.run(cluster, url)
    finally:
        cluster.one_off_delay_file.unlink(missing_ok=True)
        database.dispose(url)
        pg_databases.drop_later(name)


@pytest.fixture(scope="session")
def baseline_nights(airflow_db: Path, pg_databases: PostgresDatabases, pg_template: str,
                    tiny_inputs: Path, weights_file: Path,
                    tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Three real ordinary nights through the DAG, made once per session (tests that use
    them run on one xdist worker: xdist_groups.py); see `nights_on_baseline`."""
    import real_nights

    name = pg_databases.create("segbench_test_nights", template=pg_template)
    made = real_nights.make(pg_url_of(name), name, tmp_path_factory.mktemp("nights-home"),
                            tiny_inputs, weights_file)
    assert made.states == ["success"] * real_nights.NIGHTS, made
    yield made
    pg_databases.drop_later(name)


@pytest.fixture
def nights_on_baseline(baseline_nights, pg_databases: PostgresDatabases, tiny_inputs: Path,
                       weights_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL results database of this test's own holding the session's baseline
    nights (a copy); dag.test() runs write to it through the Airflow connection, with the
    session's tiny inputs and weights. Yields its URL."""
    import real_nights

    from segtasks.store import database

    name = pg_databases.create(template=baseline_nights.template)
    url = pg_url_of(name)
    real_nights.results_through_connection(monkeypatch, url)
    monkeypatch.setenv("SEGBENCH_INPUTS", str(tiny_inputs))
    monkeypatch.setenv("SEGBENCH_WEIGHTS", str(weights_file))
    try:
        yield url
    finally:
        database.dispose(url)
        pg_databases.drop_later(name)
