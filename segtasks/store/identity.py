"""Whose run it is. A database dropped and recreated at the same URL hands the same primary
keys out again, to other runs, so a night addresses its run by its identity (DAG id, run id
and a random token made with the run), never by its primary key alone: every write checks
that the row with that key is still this night's.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from segtasks.errors import SegbenchError


class RunReplaced(SegbenchError, RuntimeError):
    """The run's primary key now names another run (or none): the database was dropped and
    recreated while the night ran. Nothing is stored under it; retrying cannot help."""


@dataclass(frozen=True)
class RunRef:
    """A night's own run: its key in this database and what makes the row its own."""

    pk: int
    dag_id: str
    run_id: str
    token: str

    def to_dict(self) -> dict[str, Any]:
        """For XCom: the DAG's tasks hand the run on as a small JSON value."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRef:
        return cls(int(data["pk"]), str(data["dag_id"]), str(data["run_id"]),
                   str(data["token"]))

    def replaced(self, *, gone: bool) -> RunReplaced:
        where = ("is not in this database any more" if gone
                 else "in this database is not this night's")
        what = "dropped or recreated" if gone else "recreated"
        return RunReplaced(f"run {self.pk} {where}: it was {what} while the night ran "
                           f"({self.dag_id} / {self.run_id})")


def new_token() -> str:
    return secrets.token_hex(16)
