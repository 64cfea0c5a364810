"""A local spool for results measured while the database was away: nothing measured is lost.

A result that cannot be written is kept as a JSON file under var/spool, named for the
database it belongs to, and stored by the next attempt of its task or the next run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from sqlalchemy import Engine

from segtasks import paths
from segtasks.result import CaseResult
from segtasks.store import repository

log = logging.getLogger(__name__)


def spool_dir() -> Path:
    return paths.var_dir() / "spool"


def _prefix(url: str) -> str:
    # The URL may hold a password: the file name carries only a digest of it.
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def keep(url: str, run_pk: int, result: CaseResult) -> Path:
    folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_prefix(url)}-run{run_pk}-{result.case.key}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"run_pk": run_pk, "result": result.to_dict()}))
    os.replace(tmp, path)
    return path


def flush(engine: Engine, url: str) -> list[tuple[int, str]]:
    """Store every spooled result meant for `url`; returns the (run_pk, case_key) stored."""
    stored = []
    for path in sorted(spool_dir().glob(f"{_prefix(url)}-run*.json")):
        data = json.loads(path.read_text())
        result = CaseResult.from_dict(data["result"])
        repository.save_result(engine, data["run_pk"], result)
        path.unlink()
        log.info("stored spooled result %s of run %d from %s", result.case.key,
                 data["run_pk"], path)
        stored.append((data["run_pk"], result.case.key))
    return stored
