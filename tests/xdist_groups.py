"""Which tests pytest-xdist must keep together on one worker (`--dist loadgroup`).

A group runs on one worker, one test after another, so its tests share that worker's
session and module fixtures and never overlap each other. Tests outside any group are
spread over the workers one by one. A test belongs to a group when it
- uses the session's Celery cluster (Redis queues and a scheduler of one Airflow);
- uses the fault suite's private PostgreSQL cluster (initdb once, stopped by the tests);
- builds on the session's real baseline nights (made once, by dag.test, on one worker);
- lives in a module whose module-scoped fixture is a real measurement (made once).
"""

from __future__ import annotations

import pytest

CELERY = "celery-cluster"
PRIVATE_POSTGRES = "private-postgres"
NIGHTS = "real-nights"

# fixture name -> group of every test that uses it
_BY_FIXTURE = {
    "celery": CELERY,
    "private_pg": PRIVATE_POSTGRES,
    "baseline_nights": NIGHTS,
}
# module (file name) -> group: a costly module-scoped fixture, made once
_BY_MODULE = {
    "test_cookbook.py": "cookbook-night",
}


def group_of(item: pytest.Item) -> str | None:
    names = set(getattr(item, "fixturenames", ()))
    for fixture, group in _BY_FIXTURE.items():
        if fixture in names:
            return group
    return _BY_MODULE.get(item.path.name)
