"""Who is looking, and what they may do: the rules every route goes through.

An `Access` hands FastAPI one dependency per kind of route; each returns the `Viewer` or
raises (401 without credentials, 403 without the right). Inside Airflow they are
Airflow's own security dependencies (segtasks.ui.airflow_access); `segbench serve` uses
`LocalAccess`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import HTTPException, status


@dataclass(frozen=True)
class Viewer:
    name: str  # recorded with every action
    can_edit: bool  # may exclude nights and accept baseline levels


Dependency = Callable[..., Any]


class Access(Protocol):
    def reader(self) -> Dependency:
        """May read the results (read access to the governing DAG)."""

    def dag_reader(self) -> Dependency:
        """May read the DAG named by the route's `dag_id` (Airflow's DAG and run tabs)."""

    def editor(self) -> Dependency:
        """May act on the results (edit access to the governing DAG)."""


class LocalAccess:
    """`segbench serve`: no Airflow, so no login. Whoever reaches the port reads (it binds
    to localhost unless told otherwise); actions only when the server was started with
    edits allowed, recorded under the name it was given."""

    def __init__(self, user: str, allow_edits: bool = False) -> None:
        self.viewer = Viewer(name=user, can_edit=allow_edits)

    def reader(self) -> Dependency:
        return self._anyone

    def dag_reader(self) -> Dependency:
        return self._anyone

    def editor(self) -> Dependency:
        def editor() -> Viewer:
            if not self.viewer.can_edit:
                raise HTTPException(status.HTTP_403_FORBIDDEN,
                                    "read-only server: start `segbench serve --allow-edits` "
                                    "to act on the results")
            return self.viewer

        return editor

    def _anyone(self) -> Viewer:
        return self.viewer
