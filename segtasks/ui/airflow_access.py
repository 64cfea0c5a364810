"""The pages' rules inside Airflow, made of Airflow's own FastAPI security dependencies.

`get_user` authenticates (the `_token` cookie the UI's iframe sends, or a Bearer token:
401 without one, 403 for an invalid one) and `requires_access_dag` asks the configured
auth manager. Reading needs read access to the governing DAG (`segbench_nightly` unless
$SEGBENCH_DAG_ID says otherwise); acting needs edit access to it (PUT, Airflow's method
for changing a DAG). The DAG and run tabs also need read access to the DAG they sit on.

Not used here: `AuthManagerDep` and the permitted-DAG filters, which read the auth manager
from `request.app.state`: in a mounted plugin app that is this app, not Airflow's.

No `from __future__ import annotations`: FastAPI must see the dependencies in the
signatures below, which refer to this object's own checks.
"""

from typing import Annotated

from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, HTTPException, Request

from segtasks.ui.access import Dependency, Viewer


class AirflowAccess:
    def __init__(self, dag_id: str) -> None:
        self.dag_id = dag_id
        self._read = requires_access_dag("GET", param_dag_id=dag_id)
        self._edit = requires_access_dag("PUT", param_dag_id=dag_id)
        self._read_path_dag = requires_access_dag("GET")  # the route's {dag_id}

    def _can_edit(self, request: Request, user: object) -> bool:
        try:
            self._edit(request, user)  # type: ignore[arg-type]
        except HTTPException:
            return False
        return True

    def reader(self) -> Dependency:
        def reader(request: Request, user: GetUserDep,
                   _: Annotated[None, Depends(self._read)]) -> Viewer:
            return Viewer(name=user.get_name(), can_edit=self._can_edit(request, user))

        return reader

    def dag_reader(self) -> Dependency:
        def dag_reader(request: Request, user: GetUserDep,
                       _: Annotated[None, Depends(self._read_path_dag)]) -> Viewer:
            return Viewer(name=user.get_name(), can_edit=self._can_edit(request, user))

        return dag_reader

    def editor(self) -> Dependency:
        def editor(user: GetUserDep, _: Annotated[None, Depends(self._edit)]) -> Viewer:
            return Viewer(name=user.get_name(), can_edit=True)

        return editor
