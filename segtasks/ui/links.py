"""Every address a page links to, built in one place from where the app is mounted.

Links are paths, never absolute URLs, so that they hold behind any proxy: inside
Airflow the app lives under /segbench (the request's root path), alone under /.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

STATIC_VERSION = "3"  # bump when a static file changes, so browsers fetch it again


@dataclass(frozen=True)
class Links:
    root: str  # where the app is mounted: "" alone, "/segbench" in Airflow
    airflow: str | None  # prefix of Airflow's UI, "" = same origin; None = no Airflow links

    def overview(self) -> str:
        return f"{self.root}/"

    def dag(self, dag_id: str) -> str:
        return f"{self.root}/dags/{quote(dag_id, safe='')}"

    def run(self, run_pk: int) -> str:
        return f"{self.root}/runs/{run_pk}"

    def series(self, case_key: str, hardware_key: str | None, done: str | None = None) -> str:
        params = {k: v for k, v in (("hardware", hardware_key), ("done", done)) if v}
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.root}/series/{quote(case_key, safe='')}{query}"

    def compare(self, a: int | None = None, b: int | None = None) -> str:
        query = urlencode({k: v for k, v in (("a", a), ("b", b)) if v is not None})
        return f"{self.root}/compare" + (f"?{query}" if query else "")

    def api(self, path: str) -> str:
        return f"{self.root}/api/{path}"

    def action(self, name: str) -> str:
        return f"{self.root}/actions/{name}"

    def static(self, name: str) -> str:
        return f"{self.root}/static/{name}?v={STATIC_VERSION}"

    def airflow_run(self, dag_id: str, run_id: str) -> str | None:
        if self.airflow is None:
            return None
        return f"{self.airflow}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"

    def task_instance(self, dag_id: str, run_id: str, task_id: str,
                      map_index: int | None) -> str | None:
        """Airflow's page of one (mapped) task instance, or the list of its map indexes."""
        run = self.airflow_run(dag_id, run_id)
        if run is None:
            return None
        mapped = "/mapped" if map_index is None else f"/mapped/{map_index}"
        return f"{run}/tasks/{quote(task_id, safe='')}{mapped}"
