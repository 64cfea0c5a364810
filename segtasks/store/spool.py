"""A local spool for results measured while the database was away: nothing measured is lost.

A result that cannot be written is kept as a JSON file under var/spool and stored by the
next attempt of its task or the next run. It is identified by its run's identity (DAG id,
run id) and its case, never by the run's primary key: a database dropped and recreated at
the same URL hands out the same primary keys again, to other runs (the run's random token,
when the file has one, tells a recreated run of the same ids apart). Before a spooled
result is stored, its run must exist in this database and the case must not be stored yet.
A file that cannot be stored, ever, is moved to var/spool/orphaned with a warning naming it
and why: its run is gone, or it is unreadable or not a spool file (truncated, another
shape). It is never stored under another run and never in the way of a night.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import logging
import os
import types
import typing
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from segtasks import paths
from segtasks.result import CaseResult
from segtasks.store import repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunIdentity:
    dag_id: str
    run_id: str
    token: str | None = None  # None: files of runs from before tokens


class _Foreign(Exception):
    """The file is not a spool file this code can store (why: its message)."""


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
                               "token": run.token, "case_key": result.case.key,
                               "result": result.to_dict()}))
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
    try:
        data = _load(claimed)
        if "dag_id" not in data and "run_pk" in data:
            # written before results were keyed by their run's identity
            raise _Foreign("it names its run by a primary key only, which a recreated "
                           "database may have given to another run")
        stored = _result(data)
    except _Foreign as why:
        _orphan(claimed, original, str(why))
        return None
    found = repository.find_own_run(engine, dag_id=data["dag_id"], run_id=data["run_id"])
    if found is None:
        _orphan(claimed, original, f"its run ({data['dag_id']} / {data['run_id']}) is not "
                                   "in this database (dropped or recreated?)")
        return None
    if data.get("token") not in (None, found.token):
        _orphan(claimed, original, f"its run ({data['dag_id']} / {data['run_id']}) was "
                                   f"recreated: run {found.pk} of this database is another "
                                   "night of the same name")
        return None
    run = found if data.get("token") else found.pk  # old files: the run of that name
    if repository.has_result(engine, found.pk, data["case_key"]):
        log.info("spooled result %s of run %d is stored already: dropping %s",
                 data["case_key"], found.pk, original)
    else:
        repository.save_result(engine, run, stored)
        log.info("stored spooled result %s of run %d from %s", data["case_key"], found.pk,
                 original)
    claimed.unlink()
    return found.pk, data["case_key"]


def _load(claimed: Path) -> dict[str, Any]:
    """The file's fields; _Foreign when it is unreadable or not a spool file, which no
    later attempt can change."""
    try:
        data = json.loads(claimed.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        # ValueError: JSON and UTF-8 decoding errors; RecursionError: nested too deep
        raise _Foreign(f"it is not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _Foreign(f"it holds a JSON {type(data).__name__}, not a spool record")
    return data


def _result(data: dict[str, Any]) -> CaseResult:
    """The spooled result, after checking the record names its run and case."""
    missing = [k for k in ("dag_id", "run_id", "case_key", "result") if k not in data]
    if missing:
        raise _Foreign(f"it has no {', '.join(repr(k) for k in missing)} field")
    if not all(isinstance(data[k], str) for k in ("dag_id", "run_id", "case_key")):
        raise _Foreign("its dag_id, run_id or case_key is not text")
    try:
        stored = CaseResult.from_dict(data["result"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _Foreign(f"its result is not a case result ({type(exc).__name__}: {exc})"
                       ) from None
    wrong = _misshapen(stored, "result")
    if wrong is None:
        wrong = _misshapen_reference(stored.reference_outputs)
    if wrong is not None:
        raise _Foreign(f"its result is not a case result ({wrong})")
    if stored.case.key != data["case_key"]:
        raise _Foreign(f"its result is of case {stored.case.key}, not {data['case_key']}")
    return stored


def _misshapen(value: Any, where: str, hint: Any = None) -> str | None:
    """Where a value read back from JSON does not fit its declared type, or None. Checked
    before storing, so that a file of another shape (another segbench's, or edited) is
    moved aside instead of failing inside the database write night after night. Lenient
    where JSON blurs types: any number for int and float, a list for a tuple."""
    if is_dataclass(value) and not isinstance(value, type):
        hints = typing.get_type_hints(type(value))
        for f in fields(value):
            wrong = _misshapen(getattr(value, f.name), f"{where}.{f.name}", hints[f.name])
            if wrong is not None:
                return wrong
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is None:
        return None
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _misshapen(value, where, next(a for a in args if a is not type(None)))
    expected = {int: (int, float), float: (int, float), bool: (bool, int), str: (str,),
                dict: (dict,), list: (list,), tuple: (list, tuple)}.get(origin or hint)
    if expected is None:  # a dataclass part: from_dict built it already
        return None
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        return f"{where} is {type(value).__name__}, not {getattr(hint, '__name__', hint)}"
    if origin in (list, tuple) and args and args[0] is not Any:
        items: list[Any] = list(typing.cast(list[Any], value))
        for i, item in enumerate(items):
            wrong = _misshapen(item, f"{where}[{i}]", args[0])
            if wrong is not None:
                return wrong
    return None


def _misshapen_reference(encoded: dict[str, Any] | None) -> str | None:
    """The reference outputs as segtasks.parity.outputs.encode writes them."""
    if encoded is None:
        return None
    if not isinstance(encoded.get("checksum"), str):
        return "reference_outputs has no checksum"
    if not isinstance(encoded.get("summary") or [], list):
        return "reference_outputs.summary is not a list"
    npz = encoded.get("npz")
    if npz is not None:
        try:
            binascii.a2b_base64(npz.encode() if isinstance(npz, str) else b"!", strict_mode=True)
        except (binascii.Error, ValueError):
            return "reference_outputs.npz is not base64 text"
    return None


def _orphan(claimed: Path, original: Path, why: str) -> None:
    folder = orphaned_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / original.name
    os.replace(claimed, target)
    log.warning("spooled result %s was not stored: %s; moved to %s", original.name, why,
                target)
