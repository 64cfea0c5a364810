"""Tools of the fault-injection suite: `segbench run` as a real process with tiny inputs,
and waiting for what a process does next."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# a tiny grid: two cases of a few seconds each (most of it the worker starting torch)
TINY = ["--devices", "cpu", "--batch-sizes", "1,2", "--images", "1", "--warmup", "0",
        "--warmup-seconds", "0", "--min-batches", "6", "--min-seconds", "0.01",
        "--max-seconds", "2", "--end-to-end-seconds", "0", "--end-to-end-passes", "1",
        "--max-interference", "1", "--max-steal", "1"]


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 120.0,
             every_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every_s)
    raise TimeoutError(f"{what} not seen within {timeout_s:g} s")


@dataclass
class Bench:
    """Where a `segbench run` process keeps its things, and how to start one."""

    home: Path
    tmp: Path  # its TMPDIR: the case folders of this test only
    locks: Path
    inputs: Path
    weights: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT), "SEGBENCH_HOME": str(self.home),
                "TMPDIR": str(self.tmp), "SEGBENCH_LOCK_DIR": str(self.locks),
                "SEGBENCH_INPUTS": str(self.inputs), "SEGBENCH_WEIGHTS": str(self.weights),
                **extra}

    def start(self, url: str, *args: str, **env: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "segtasks.cli", "run", "--url", url, *TINY, *args],
            env=self.env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def case_folders(self) -> list[Path]:
        return sorted(self.tmp.glob("segbench-case-*"))

    def spooled(self) -> list[Path]:
        return sorted((self.home / "var" / "spool").glob("*.json"))


