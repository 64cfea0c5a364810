"""A lock made into a real virtual environment under var/envs/<lock>, with uv.

uv installs from its cache by hard links, so a second environment that shares torch with
the first costs seconds and no extra disk (the cache and var/envs must be on one
filesystem; across filesystems uv copies, and says so). When the registry cannot be
reached, the build is retried offline from uv's cache; when that fails too, one line names
the packages neither had.

A build happens in a folder beside its target and is renamed into place once complete
(the environment is made relocatable for that), under a file lock: a killed build never
leaves a half environment that looks done, and two processes building one lock at once
build it once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from segtasks import paths
from segtasks.envs.bytecode import BYTECODE_FOLDER, lend
from segtasks.envs.lock import Lock, Package, normalize
from segtasks.envs.snapshot import current
from segtasks.envs.uv import IndexSettings, find_uv, pip_settings, uv_pip
from segtasks.errors import SegbenchError

log = logging.getLogger(__name__)

MARKER = "segbench-lock.json"  # written last: the environment is complete
_BUILDING = ".building-"
# uv's words for a registry it could not reach (as opposed to one that lacks a package)
_UNREACHABLE = re.compile(r"error sending request|tcp connect error|connection refused|"
                          r"dns error|failed to lookup address|timed out|network is "
                          r"unreachable|could not connect", re.IGNORECASE)
# the package uv names in "Because foo was not found in the cache and you require ...",
# "Because there is no version of foo==1.0 ...", "Because only foo<1.0 is available ..."
_BECAUSE = re.compile(r"Because (?:there is no version of |only )?([A-Za-z0-9][A-Za-z0-9._-]*)")
_MAX_NAMED = 20


class EnvironmentBuildFailed(SegbenchError):
    """uv could not make the lock into an environment; the message names what is missing."""


def envs_root() -> Path:
    return paths.var_dir() / "envs"


def env_dir(lock: Lock, root: Path | None = None) -> Path:
    return (root or envs_root()) / lock.short


def bytecode_env(python: str) -> dict[str, str]:
    """The environment variables under which a process of a recorded environment's
    interpreter writes and reads compiled bytecode in that environment's own folder
    (`BYTECODE_FOLDER`), whatever PYTHONDONTWRITEBYTECODE says outside: its first process
    compiles what a case imports, the next ones load it. Tonight's harness (segtasks, on
    the path first) is kept there too, so the checkout is never written to."""
    folder = Path(python).absolute().parents[1] / BYTECODE_FOLDER  # bin/python's venv
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(folder)}


def _python_in(folder: Path) -> Path:
    return folder / "bin" / "python"


def interpreter(lock: Lock) -> str:
    """The interpreter to measure `lock` in: this one when it is this environment's lock,
    else the one of its built environment (built now if need be)."""
    if lock.sha256 == current().sha256:
        return sys.executable
    return str(build(lock))


def build(lock: Lock, root: Path | None = None, *,
          settings: IndexSettings | None = None) -> Path:
    """The interpreter of `lock`'s environment under `root` (default var/envs), built with
    uv unless already there. `settings`: the package indexes (default: pip's)."""
    folder = env_dir(lock, root)
    if _built(folder, lock):
        return _python_in(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder.parent / f".{lock.short}.lock"):
        if _built(folder, lock):  # another process built it while this one waited
            return _python_in(folder)
        _remove_leftovers(folder, lock)
        staging = folder.parent / f"{_BUILDING}{lock.short}-{os.getpid()}"
        try:
            _make(lock, staging, pip_settings() if settings is None else settings)
            (staging / MARKER).write_text(json.dumps(lock.to_dict(), indent=1) + "\n")
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        # after the rename: the links name the environment's final paths, where its
        # processes look; a failure costs only the compile the lending would spare
        try:
            lent = lend(_python_in(folder))
        except OSError as exc:
            lent = 0
            log.warning("no compiled bytecode lent to %s: %s", folder, exc)
    log.info("built the environment of lock %s at %s (%d compiled modules lent by this "
             "environment)", lock.short, folder, lent)
    return _python_in(folder)


def _built(folder: Path, lock: Lock) -> bool:
    marker = folder / MARKER
    if not marker.is_file():
        return False
    there = Lock.from_dict(json.loads(marker.read_text()))
    if there.sha256 != lock.sha256:  # two locks whose hashes share their first 12 digits
        raise EnvironmentBuildFailed(f"{folder} holds lock {there.sha256}, not {lock.sha256}: "
                                     "remove it to build this one")
    return True


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or its process dies
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(folder: Path, lock: Lock) -> None:
    """What a killed build of this lock left: its staging folders (nobody else builds this
    lock while the file lock is held), and a folder with no marker."""
    for staging in folder.parent.glob(f"{_BUILDING}{lock.short}-*"):
        shutil.rmtree(staging, ignore_errors=True)
    if folder.exists():
        shutil.rmtree(folder)


def _run(cmd: Sequence[str], env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    log.debug("running %s", " ".join(cmd))
    return subprocess.run(list(cmd), capture_output=True, text=True, env=env)


def _make(lock: Lock, staging: Path, settings: IndexSettings) -> None:
    # the very interpreter this process runs on, when the lock's Python is this one
    same = lock.python_version == platform.python_version()
    python = getattr(sys, "_base_executable", None) if same else None
    done = _run([find_uv(), "venv", "--relocatable", "--python",
                 python or lock.python_version, str(staging)])
    if done.returncode != 0:
        raise EnvironmentBuildFailed(f"cannot build lock {lock.short}: no Python "
                                     f"{lock.python_version} for uv ({_last_error(done)})")
    with tempfile.TemporaryDirectory(prefix="segbench-lock-") as tmp:
        online = _sync(lock.packages, staging, settings, Path(tmp))
        if online.returncode == 0:
            return
        unreachable = bool(_UNREACHABLE.search(online.stderr))
        log.warning("uv could not install lock %s from the registry (%s); trying again "
                    "offline, from uv's cache", lock.short, _last_error(online))
        offline = _sync(lock.packages, staging, settings, Path(tmp), "--offline")
        if offline.returncode == 0:
            return
        missing = _missing(lock, staging, settings, Path(tmp))
    where = ("the registry cannot be reached and uv's cache lacks" if unreachable
             else "neither the registry nor uv's cache has")
    if missing:
        named = ", ".join(p.requirement() for p in missing[:_MAX_NAMED])
        more = f" and {len(missing) - _MAX_NAMED} more" if len(missing) > _MAX_NAMED else ""
        raise EnvironmentBuildFailed(f"cannot build lock {lock.short}: {where} {named}{more}")
    raise EnvironmentBuildFailed(f"cannot build lock {lock.short}: uv pip sync failed "
                                 f"online ({_last_error(online)}) and offline "
                                 f"({_last_error(offline)})")


def _sync(packages: Sequence[Package], staging: Path, settings: IndexSettings, tmp: Path,
          *extra: str) -> subprocess.CompletedProcess[str]:
    requirements = tmp / "requirements.txt"
    requirements.write_text("".join(p.requirement() + "\n" for p in packages))
    # not compiled here: compiling every module of the lock (torch, Airflow, SciPy, ...)
    # took 41 s of CPU against 2 s for the rest of the build (this VM, uv's cache warm),
    # while a case imports a fraction of them: its processes write the bytecode of what
    # they import into the environment's own folder (bytecode_env) and reuse it
    cmd, env = uv_pip("sync", ["--python", str(_python_in(staging)), *extra,
                               str(requirements)], settings, compile_bytecode=False)
    return _run(cmd, env)


def _missing(lock: Lock, staging: Path, settings: IndexSettings, tmp: Path) -> list[Package]:
    """The lock's packages that uv can install from neither index nor cache. uv names one
    per try, so dry runs (milliseconds each) go on without those it named."""
    remaining, missing = list(lock.packages), []
    while remaining:
        tried = _sync(remaining, staging, settings, tmp, "--offline", "--dry-run")
        if tried.returncode == 0:
            break
        named = _named(tried.stderr, remaining)
        if not named:
            break
        missing += named
        remaining = [p for p in remaining if p not in named]
    return missing


def _named(text: str, packages: Sequence[Package]) -> list[Package]:
    """The packages uv's error names: by name after 'Because', or by their source."""
    names = {normalize(found) for found in _BECAUSE.findall(text)}
    return [p for p in packages if p.name in names or (p.source and p.source in text)]


def _last_error(done: subprocess.CompletedProcess[str]) -> str:
    """uv's innermost reason, on one line."""
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith(("error:", "cause:", "×", "╰─▶"))]
    return (causes or lines or [f"exit status {done.returncode}"])[-1]
