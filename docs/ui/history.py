"""A real history of nights for the screenshots in docs/ui/ (make_screenshots.py).

Seven nights measured for real with `segbench run` into a fresh SQLite results database,
on a tiny grid (CPU, batch sizes 1 and 2, one torch thread, a short protocol like
tests/real_nights.py's), with the synthetic inputs and seeded weights made here by
`segbench data` and `segbench weights` (nothing is downloaded):

1-4. ordinary nights (the first three have too little history to be judged);
5. a disturbed night: two busy loops run beside it on this machine's cores, and the
   interference check is on, so the validity check flags the cases (`disturbed`);
6. an inconclusive night: it asks for changes of 2%, far below what this machine's
   night-to-night noise lets it see, so its unflagged changes are `inconclusive`;
7. a regression: every forward pass is slower by a planted delay
   (SEGBENCH_TEST_FORWARD_DELAY_MS, segtasks/measure/planted.py), confirmed the same night.

The ordinary nights run with the validity checks off (as tests/real_nights.py's do):
this is a shared development machine, and other work on it would mark them disturbed
too. Each night's stored verdicts are checked against what it was made for; a night that
did not come out so stops the script with what it stored (run it again).

    .venv/bin/python docs/ui/history.py FOLDER     # prints the database URL
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS_FILE = "nights.json"  # each kind of night's run number, beside the database
# tests/real_nights.py's short protocol on the CPU only
GRID = ["--devices", "cpu", "--batch-sizes", "1,2", "--cpu-threads", "1", "--n-images", "2",
        "--warmup-batches", "1", "--warmup-seconds", "0", "--min-batches", "8",
        "--min-seconds", "0.01", "--max-seconds", "0.3", "--end-to-end-seconds", "0",
        "--end-to-end-passes", "1", "--control", "none"]
# A change this machine's ordinary nights can see: on the shared 2-core VM these pages were
# made on, a night's images/s moves by several percent from night to night, so a minimum
# effect of 5% (the default) would make every night inconclusive, not only night 6.
ORDINARY_MIN_EFFECT = "0.25"
# Likewise a process's peak RSS moves by a few percent here (more than the default 2%):
# every night asks for 10%, so that an ordinary night is not flagged for a memory blip.
MEMORY_MIN_EFFECT = ["--memory-min-effect", "0.1"]
CHECKS_OFF = ["--max-interference", "1", "--max-steal", "1"]
# Night 5: a busy loop on one of the 2 cores in use takes 25-50% of them (see
# `segbench run --help`); two of them beside a one-thread case take more than this.
DISTURBED_CHECKS = ["--max-interference", "0.25", "--max-steal", "1"]
BUSY_LOOPS = 2
# Night 6: far below what the ordinary nights' noise lets a night see
INCONCLUSIVE_MIN_EFFECT = "0.02"
# Night 7: milliseconds added to every forward pass (about as long as a forward pass at
# batch size 1 takes here: that case's images/s about halves)
PLANTED_DELAY_MS = "500"


@dataclass(frozen=True)
class Night:
    name: str
    flags: list[str]
    # a verdict its images/s comparison, or its status one (a disturbed case: not compared),
    # must hold for at least one case
    expected: str
    env: dict[str, str] = field(default_factory=dict)
    busy_loops: int = 0


NIGHTS = [
    *(Night(f"ordinary {n}", ["--min-effect", ORDINARY_MIN_EFFECT, *CHECKS_OFF],
            "new" if n == 1 else "insufficient_history" if n < 4 else "unchanged")
      for n in range(1, 5)),
    Night("disturbed", ["--min-effect", ORDINARY_MIN_EFFECT, *DISTURBED_CHECKS], "disturbed",
          busy_loops=BUSY_LOOPS),
    Night("inconclusive", ["--min-effect", INCONCLUSIVE_MIN_EFFECT, *CHECKS_OFF],
          "inconclusive"),
    Night("regression", ["--min-effect", ORDINARY_MIN_EFFECT, *CHECKS_OFF], "regression",
          env={"SEGBENCH_TEST_FORWARD_DELAY_MS": PLANTED_DELAY_MS}),
]


class NightNotAsPlanned(RuntimeError):
    """A night stored other verdicts than the one it was made for."""


def segbench() -> str:
    beside = Path(sys.executable).with_name("segbench")
    return str(beside) if beside.exists() else (shutil.which("segbench") or "segbench")


def night_env(folder: Path) -> dict[str, str]:
    """This checkout's segtasks, the made inputs and weights, var/ in `folder`; no planted
    fault and no results database inherited from the caller."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SEGBENCH_TEST_") and k not in (
               "SEGBENCH_DB_URL", "SEGBENCH_READER_DB_URL", "AIRFLOW_CONN_SEGBENCH_DB")}
    env.update({"PYTHONPATH": str(ROOT), "SEGBENCH_HOME": str(folder),
                "SEGBENCH_INPUTS": str(folder / "inputs"),
                "SEGBENCH_WEIGHTS": str(folder / "weights" / "weights_001.pt")})
    return env


@contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """`count` processes spinning on the CPU, stopped (by their own ids) on the way out."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def stored(db: Path, run_pk: int) -> tuple[str, list[tuple[str, str, str, str | None]]]:
    """The run's state and its comparisons (case, metric, verdict, detail)."""
    with sqlite3.connect(db) as conn:
        state = conn.execute("SELECT state FROM runs WHERE id = ?", (run_pk,)).fetchone()[0]
        rows = conn.execute("SELECT case_key, metric, verdict, detail FROM comparisons "
                            "WHERE run_pk = ? ORDER BY case_key, metric", (run_pk,)).fetchall()
    return state, rows


def run_night(night: Night, number: int, url: str, db: Path, env: dict[str, str]) -> int:
    print(f"--- night {number}: {night.name}", flush=True)
    command = [segbench(), "run", "--url", url, *GRID, *MEMORY_MIN_EFFECT, *night.flags]
    with busy_loops(night.busy_loops):
        # exit 1 is a night with problems: the regression night's, with fail_on_regression
        done = subprocess.run(command, env={**env, **night.env}, check=False)
    if done.returncode not in (0, 1):
        raise NightNotAsPlanned(f"night {number} ({night.name}) exited {done.returncode}")
    with sqlite3.connect(db) as conn:
        run_pk = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    state, rows = stored(db, run_pk)
    if not any(verdict == night.expected for _, metric, verdict, _ in rows
               if metric in ("images_per_s", "status")):
        listed = "\n".join(f"  {case} {metric}: {verdict} ({detail})"
                           for case, metric, verdict, detail in rows)
        raise NightNotAsPlanned(f"night {number} ({night.name}, run {run_pk}, {state}) holds "
                                f"no {night.expected} verdict:\n{listed}")
    return run_pk


def make_history(folder: Path) -> tuple[str, dict[str, int]]:
    """The results database's URL and each kind of night's run number."""
    env = night_env(folder)
    for command in (["data", "--dest", str(folder / "inputs"), "--count", "3", "--size",
                     "96", "--seed", "1"],
                    ["weights", "--dest", str(folder / "weights" / "weights_001.pt"),
                     "--seed", "0"]):
        subprocess.run([segbench(), *command], env=env, check=True)
    db = folder / "results.db"
    url = f"sqlite:///{db}"
    subprocess.run([segbench(), "db", "upgrade", "--url", url], env=env, check=True)
    runs = {night.name: run_night(night, number, url, db, env)
            for number, night in enumerate(NIGHTS, start=1)}
    (folder / RUNS_FILE).write_text(json.dumps(runs))
    return url, runs


def kept_history(folder: Path) -> tuple[str, dict[str, int]]:
    """The database and run numbers `make_history` left in `folder`."""
    return (f"sqlite:///{folder / 'results.db'}",
            json.loads((folder / RUNS_FILE).read_text()))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.rsplit("\n\n", 1)[-1].strip())
    target = Path(sys.argv[1]).resolve()
    target.mkdir(parents=True, exist_ok=True)
    print(make_history(target)[0])
