"""Where the pages read from and write to, and which DAG's permissions govern them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from segtasks import store

READER_URL_ENV = "SEGBENCH_READER_DB_URL"
DAG_ID_ENV = "SEGBENCH_DAG_ID"
DEFAULT_DAG_ID = "segbench_nightly"


@dataclass(frozen=True)
class UiSettings:
    writer_url: str  # the actions' connection (the DAG's own)
    reader_url: str  # the pages' connection, opened read-only whatever its rights
    dag_id: str = DEFAULT_DAG_ID  # reading it lets a user see the pages; editing it, act
    # Prefix of links to Airflow's own pages (task instances): "" = the same origin (inside
    # Airflow's api-server), None = no such links (standalone).
    airflow_url: str | None = None
    title: str = "segbench"


def governing_dag_id() -> str:
    return os.environ.get(DAG_ID_ENV) or DEFAULT_DAG_ID


def standalone(url: str | None = None, reader_url: str | None = None) -> UiSettings:
    """For `segbench serve`: the given URL (else $SEGBENCH_DB_URL, else var/segbench.db);
    pages read through $SEGBENCH_READER_DB_URL when set."""
    writer = store.resolve_url(url)
    reader = reader_url or os.environ.get(READER_URL_ENV) or writer
    return UiSettings(writer_url=writer, reader_url=store.database.normalize(reader),
                      dag_id=governing_dag_id(), airflow_url=None)
