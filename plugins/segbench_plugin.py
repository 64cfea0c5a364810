"""segbench's results inside the Airflow UI (Airflow 3.3 plugin).

Mounts the pages of `segtasks.ui` on the api-server under /segbench and adds them to the
UI: an overview under Browse, a tab on the DAG page and a tab on each DAG run. Airflow
renders each view in a sandboxed frame of the same origin, so the pages authenticate
with the user's own session (Airflow's security dependencies, see
segtasks/ui/airflow_access.py). A DAG tab shows on every DAG in Airflow 3.3; on other
DAGs it says there is nothing to show.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from segtasks.ui.in_airflow import PREFIX, app, base_path

_BASE = base_path()  # [api] base_url's path, when Airflow is served under one


class SegbenchPlugin(AirflowPlugin):
    name = "segbench"
    fastapi_apps = [{"app": app, "url_prefix": PREFIX, "name": "segbench results"}]
    external_views = [
        {"name": "Benchmarks", "href": f"{_BASE}{PREFIX}/", "destination": "nav",
         "category": "browse", "url_route": "segbench"},
        {"name": "Benchmark", "href": f"{_BASE}{PREFIX}/dags/{{DAG_ID}}",
         "destination": "dag", "url_route": "segbench-dag"},
        {"name": "Benchmark", "href": f"{_BASE}{PREFIX}/dags/{{DAG_ID}}/runs/{{RUN_ID}}",
         "destination": "dag_run", "url_route": "segbench-run"},
    ]
