"""The lock of a live environment: what its interpreter has installed, as it is now."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

from segtasks.envs.lock import Lock, Package
from segtasks.errors import SegbenchError

# The project itself is left out: the harness always comes from tonight's checkout (first
# on the measuring process's path), whichever environment it measures in.
PROJECT = "segbench"
ROOT = Path(__file__).resolve().parents[2]
_LISTER = Path(__file__).with_name("list_distributions.py")


class SnapshotFailed(SegbenchError):
    """The interpreter could not be run or did not say what it has installed."""


def snapshot(python: str | None = None) -> Lock:
    """The lock of `python`'s environment (default: this interpreter's), with the
    checkout's commit as its code revision."""
    exe = python or sys.executable
    try:
        # -I: the environment's own packages, not what PYTHONPATH or a user site add
        done = subprocess.run([exe, "-I", str(_LISTER)], capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SnapshotFailed(f"cannot run {exe} to list its packages: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SnapshotFailed(f"{exe} could not list its packages: {last}")
    listed = json.loads(done.stdout)
    return Lock(python_version=listed["python_version"],
                packages=tuple(Package.from_dict(p) for p in listed["packages"]
                               if p["name"] != PROJECT),
                code_revision=code_revision())


def code_revision(checkout: Path = ROOT) -> str | None:
    """`git rev-parse HEAD` of the checkout; None when it is not a git checkout (or git is
    missing)."""
    try:
        done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


@functools.cache
def current() -> Lock:
    """This interpreter's lock, taken once per process."""
    return snapshot()
