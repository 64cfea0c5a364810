"""Where the project's files live: inputs, weights, the embedded database, reports.

Everything is relative to SEGBENCH_HOME (default: the current directory), so that
Airflow task processes, the CLI and the tests agree without guessing.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("SEGBENCH_HOME") or os.getcwd()).resolve()


def inputs_dir() -> Path:
    return Path(os.environ.get("SEGBENCH_INPUTS") or home() / "inputs")


def weights_path() -> Path:
    return Path(os.environ.get("SEGBENCH_WEIGHTS") or home() / "weights" / "weights_001.pt")


def var_dir() -> Path:
    return home() / "var"


def default_sqlite_path() -> Path:
    return var_dir() / "segbench.db"


def compile_cache_dir() -> Path:
    """torch.compile's kernel cache, kept between cases and nights."""
    return Path(os.environ.get("SEGBENCH_COMPILE_CACHE") or var_dir() / "compile-cache")


def write_error(exc: OSError, target: Path, *, is_folder: bool = False) -> str:
    """Why `target` (a file, or a folder when `is_folder`) could not be written, naming the
    culprit: the OS says only 'File exists' or 'Not a directory' when something on the way
    that should be a folder is a file or a device."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        blocked = not_a_folder(target, is_folder=is_folder)
        if blocked is not None:
            return blocked
    return exc.strerror or str(exc)


def not_a_folder(target: Path, *, is_folder: bool = False) -> str | None:
    """'X is a file, not a folder' for the first entry on the way to `target` (and
    `target` itself when it should be a folder) that exists and is no folder; else None.
    Asked before long work, so that it is not lost on a path that cannot be written."""
    for entry in [*([target] if is_folder else []), *target.parents]:
        if entry.exists() and not entry.is_dir():
            kind = "a file" if entry.is_file() else "a device or other special file"
            return f"{entry} is {kind}, not a folder"
    return None
