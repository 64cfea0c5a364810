"""The app as Airflow's api-server mounts it (plugins/segbench_plugin.py).

The results database is found as the DAG finds it: the Airflow connection `segbench_db`,
else $SEGBENCH_DB_URL, else var/segbench.db. The pages read through the connection
`segbench_db_reader` (e.g. a role made by `segbench db grant-reader`), else
$SEGBENCH_READER_DB_URL, else the same URL; either way in read-only transactions.
Connections are looked up at the first request, not when the plugin is imported, so
the api-server starts even while the results database is down.
"""

from __future__ import annotations

import functools
import os
from urllib.parse import urlsplit

from fastapi import FastAPI

from segtasks import store
from segtasks.ui.airflow_access import AirflowAccess
from segtasks.ui.app import build_app
from segtasks.ui.settings import READER_URL_ENV, UiSettings, governing_dag_id

PREFIX = "/segbench"
WRITER_CONN_ID = "segbench_db"
READER_CONN_ID = "segbench_db_reader"


def connection_uri(conn_id: str) -> str | None:
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        return Connection.get_connection_from_secrets(conn_id).get_uri()
    except AirflowNotFoundException:
        return None


def base_path() -> str:
    """The path of Airflow's [api] base_url ("" at the root): links to Airflow's pages
    and the views' hrefs start with it."""
    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="/") or "/").path.rstrip("/")


@functools.cache
def settings() -> UiSettings:
    writer = store.resolve_url(connection_uri(WRITER_CONN_ID))
    reader = connection_uri(READER_CONN_ID) or os.environ.get(READER_URL_ENV) or writer
    return UiSettings(writer_url=writer, reader_url=store.database.normalize(reader),
                      dag_id=governing_dag_id(), airflow_url=base_path())


def create() -> FastAPI:
    return build_app(settings, AirflowAccess(governing_dag_id()))


app = create()
