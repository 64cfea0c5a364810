"""A local spool for results measured while the database was away: nothing measured is lost.

A result that cannot be written is kept as a JSON file under var/spool and stored by the
next attempt of its task or the next run. It is identified by its run's identity (DAG id,
run id) and its case, never by the run's primary key: a database dropped and recreated at
the same URL hands out the same primary keys again, to other runs. Before a spooled result
is stored, its run must exist in this database and the case must not be stored yet; one
whose run is gone is moved to var/spool/orphaned with a warning, never stored under
another run and never in the way of a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from segtasks import paths
from segtasks.result import CaseResult
from segtasks.store import repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunIdentity:
    dag_id: str
    run_id: str


def spool_dir() -> Path:
    return paths.var_dir() / "spool"


def orphaned_dir() -> Path:
    return spool_dir() / "orphaned"


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _prefix(url: str) -> str:
    # The URL may hold a password: the file name carries only a digest of it.
    return _digest(url, 12)


def keep(url: str, run: RunIdentity, result: CaseResult) -> Path:
    folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    run_digest = _digest(f"{run.dag_id}\n{run.run_id}", 10)
    path = folder / f"{_prefix(url)}-{run_digest}-{result.case.key}.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"dag_id": run.dag_id, "run_id": run.run_id,
                               "case_key": result.case.key, "result": result.to_dict()}))
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def flush(engine: Engine, url: str) -> list[tuple[int, str]]:
    """Store every spooled result meant for `url` whose run exists and whose case is not
    stored yet; returns the (run_pk, case_key) of every spooled result now in the database."""
    done = []
    for path in sorted(spool_dir().glob(f"{_prefix(url)}-*.json")):
        claimed = _claim(path)
        if claimed is None:
            continue  # a parallel task is replaying it
        try:
            outcome = _replay(engine, claimed, path)
        except BaseException:
            os.replace(claimed, path)  # not stored: keep it for the next attempt
            raise
        if outcome is not None:
            done.append(outcome)
    return done


def _claim(path: Path) -> Path | None:
    """Rename the file to one only this process uses: parallel bench tasks that flush the
    same spool never store one result twice."""
    claimed = path.with_suffix(f".{os.getpid()}.replaying")
    try:
        os.replace(path, claimed)
    except FileNotFoundError:
        return None
    return claimed


def _replay(engine: Engine, claimed: Path, original: Path) -> tuple[int, str] | None:
    data = json.loads(claimed.read_text())
    if "dag_id" not in data:  # written before results were keyed by their run's identity
        _orphan(claimed, original, "it names its run by a primary key only, which a "
                                   "recreated database may have given to another run")
        return None
    run_pk = repository.find_run_pk(engine, dag_id=data["dag_id"], run_id=data["run_id"])
    if run_pk is None:
        _orphan(claimed, original, f"its run ({data['dag_id']} / {data['run_id']}) is not "
                                   "in this database (dropped or recreated?)")
        return None
    if repository.has_result(engine, run_pk, data["case_key"]):
        log.info("spooled result %s of run %d is stored already: dropping %s",
                 data["case_key"], run_pk, original)
    else:
        repository.save_result(engine, run_pk, CaseResult.from_dict(data["result"]))
        log.info("stored spooled result %s of run %d from %s", data["case_key"], run_pk,
                 original)
    claimed.unlink()
    return run_pk, data["case_key"]


def _orphan(claimed: Path, original: Path, why: str) -> None:
    folder = orphaned_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / original.name
    os.replace(claimed, target)
    log.warning("spooled result %s was not stored: %s; moved to %s", original.name, why,
                target)
