"""Which tests pytest-xdist must keep together on one worker (`--dist loadgroup`).

A group runs on one worker, one test after another, so its tests share that worker's
session and module fixtures and never overlap each other. Tests outside any group are
spread over the workers one by one. A test belongs to a group when it
- uses the session's Celery cluster (Redis queues and a scheduler of one Airflow);
- uses the fault suite's private PostgreSQL cluster (initdb once, stopped by the tests);
- builds on the session's real baseline nights (made once, by dag.test, on one worker);
- lives in a module whose module-scoped fixture is a real measurement (made once).

xdist's own `--dist loadgroup` reads `xdist_group` marks by renaming each test's node id,
which pytest 9 no longer lets it do (the node id is computed), so the groups travel
another way: each worker writes the groups of the tests it collected into the run's
temporary folder, and `GroupScheduling` (conftest's pytest_xdist_make_scheduler) reads
them there when it splits the collection into work units.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

CELERY = "celery-cluster"
PRIVATE_POSTGRES = "private-postgres"
NIGHTS = "real-nights"

# fixture name -> group of every test that uses it
_BY_FIXTURE = {
    "celery": CELERY,
    "celery_night": CELERY,
    "private_pg": PRIVATE_POSTGRES,
    "baseline_nights": NIGHTS,
}
# module (file name) -> group: a costly module-scoped fixture, made once; or minutes of
# real nights that should start early rather than be the last unit one worker runs while
# the other waits (a group of several tests is handed out before single tests)
_BY_MODULE = {
    "test_cookbook.py": "cookbook-night",
    "test_paired_night.py": "paired-nights",
    "test_compile.py": "compile",
}


def group_of(item: pytest.Item) -> str | None:
    names = set(getattr(item, "fixturenames", ()))
    for fixture, group in _BY_FIXTURE.items():
        if fixture in names:
            return group
    return _BY_MODULE.get(item.path.name)


def record(items: list[pytest.Item], folder: Path, worker: str) -> None:
    """Writes `node id<TAB>group` for each grouped test this worker collected."""
    lines = [f"{item.nodeid}\t{group}\n" for item in items
             if (group := group_of(item)) is not None]
    (folder / f"xdist-groups-{worker}.tsv").write_text("".join(lines))


class GroupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with the groups the workers recorded as scopes: a group is
    one work unit (its tests run on one worker, in order); any other test is a unit of
    its own. Units are handed out largest first (xdist's default), so the groups start
    at once."""

    def __init__(self, config: pytest.Config, log=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config, log)
        self._folder = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:  # every worker has finished collecting by now
            self._groups = {}
            for table in self._folder.glob("xdist-groups-*.tsv"):
                for line in table.read_text().splitlines():
                    test, group = line.rsplit("\t", 1)
                    self._groups[test] = group
        group = self._groups.get(nodeid)
        return f"group:{group}" if group else nodeid
