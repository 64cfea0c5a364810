"""Fixtures of the fault-injection suite: a `segbench run` process's folders, a private
PostgreSQL cluster to stop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from faults.fault_tools import Bench


@pytest.fixture
def bench(tmp_path, tiny_inputs, weights_file) -> Bench:
    made = Bench(home=tmp_path / "home", tmp=tmp_path / "tmp", locks=tmp_path / "locks",
                 inputs=tiny_inputs, weights=weights_file)
    for folder in (made.home, made.tmp, made.locks):
        folder.mkdir()
    return made


@pytest.fixture(scope="session")
def _private_cluster() -> Iterator[Any]:
    from private_postgres import remove, start_private_postgres

    cluster = start_private_postgres()
    try:
        yield cluster
    finally:
        remove(cluster)


@pytest.fixture
def private_pg(_private_cluster) -> Any:
    """The private cluster, running, with an empty `segbench` database at head."""
    from segtasks import store

    if not _private_cluster.is_running():
        _private_cluster.start()
    url = _private_cluster.create_database()
    store.upgrade(url)
    yield _private_cluster
    store.database.dispose(url)
