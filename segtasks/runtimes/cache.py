"""Exports on disk: one folder per model identity, format and opset under var/runtime-exports
(apart from var/exports, where `segbench export` writes result files), made
in a staging folder beside it and renamed into place once complete (as segtasks.envs builds
environments), so that a reader never sees half an export and two processes racing to make
the same one both end with a whole one.

Each folder holds the files and `export.json`: how long the export took when it was made,
its opset, the bytes of its files, and the versions that made it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from segtasks.paths import var_dir
from segtasks.runtimes.onnx_export import ExportFailed

RECORD = "export.json"


def exports_root() -> Path:
    return Path(os.environ.get("SEGBENCH_EXPORTS") or var_dir() / "runtime-exports")


def folder(identity: str, form: str, opset: int, root: Path | None = None) -> Path:
    """Where an export of a model (its identity) to a form ("onnx", "openvino") lives."""
    return (root or exports_root()) / identity / f"{form}-opset{opset}"


@dataclass(frozen=True)
class Stored:
    """A complete export in its folder."""

    folder: Path
    model_file: str  # the file a runtime opens, inside the folder
    seconds: float  # how long making it took
    opset: int
    bytes: int  # every file of the export

    @property
    def path(self) -> Path:
        return self.folder / self.model_file


def read(where: Path) -> Stored | None:
    """The export in `where`, or None when there is none (or it is not whole)."""
    try:
        record = json.loads((where / RECORD).read_text())
        stored = Stored(where, record["model_file"], float(record["seconds"]),
                        int(record["opset"]), int(record["bytes"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # every file as big as when it was made: a truncated or half-deleted export (a full
    # disk, a hand's rm) is made again rather than failing every night
    return stored if stored.path.is_file() and _bytes(where) == stored.bytes else None


def _bytes(where: Path) -> int:
    return sum(f.stat().st_size for f in where.iterdir() if f.is_file() and f.name != RECORD)


def staging(where: Path) -> Path:
    """An empty folder beside `where` to make its export in, this process's own (a unique
    name: several hosts may share the exports folder)."""
    where.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{where.name}.", suffix=".partial",
                                 dir=where.parent))


def publish(stage: Path, where: Path, model_file: str, seconds: float, opset: int,
            versions: dict[str, str]) -> Stored:
    """Record the export made in `stage` and rename it into place. Another process that
    published the same export first wins; this one's copy is dropped and theirs is used."""
    size = _bytes(stage)
    record = {"model_file": model_file, "seconds": seconds, "opset": opset, "bytes": size,
              "versions": versions}
    (stage / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    if where.exists() and read(where) is None:  # a broken export: set aside, made anew
        broken = Path(tempfile.mkdtemp(prefix=f".{where.name}.", suffix=".broken",
                                       dir=where.parent))
        try:
            where.rename(broken / where.name)
        except OSError:  # another process set it aside or replaced it first
            pass
        shutil.rmtree(broken, ignore_errors=True)
    try:
        stage.rename(where)
    except OSError:  # there already (a racing process): theirs is as good
        shutil.rmtree(stage, ignore_errors=True)
    found = read(where)
    if found is None:
        raise ExportFailed(f"export folder {where} is there but not complete: remove it")
    return found
