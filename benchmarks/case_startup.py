"""What a case's own process costs before and around its timed loop, with and without the
environment's compiled bytecode, side by side in one run.

    .venv/bin/python benchmarks/case_startup.py [--runs 5] [--python PATH]

Every case (and every side of a pair) is a fresh process: it imports torch, timm (through
segmentation_models_pytorch) and segtasks' measuring code before it measures anything.
Where PYTHONDONTWRITEBYTECODE is set (this VM, CI, most container images) Python writes no
.pyc of its own, so an environment installed without them (uv's default; pip compiles)
compiles every module from source in every process. This script runs the same tiny case
(CPU, batch size 1, one thread, the shortest protocol) alternately
- `compiled`: the environment as installed (`make install` compiles, segtasks.envs too);
- `source`: the same, with PYTHONPYCACHEPREFIX pointing at an empty folder, so that no .pyc
  is found and none is written: what an environment without bytecode costs;
and prints each one's wall and CPU seconds (median over `--runs`) and their ratio. It is a
timing: run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import banner

ROOT = Path(__file__).resolve().parents[1]


def _job(folder: Path) -> Path:
    from segtasks.measure.data import make_synthetic
    from segtasks.measure.model import make_weights
    from segtasks.plan.case import Case

    make_synthetic(folder / "inputs", count=3, size=96, seed=1)
    make_weights(folder / "weights.pt", seed=0)
    case = Case(device="cpu", batch_size=1, threads=1, seed_images=2, warmup_batches=1,
                warmup_seconds=0, min_batches=8, min_seconds=0.01, max_seconds=0.3,
                end_to_end_seconds=0, end_to_end_passes=1, max_interference=1, max_steal=1)
    job = folder / "case.json"
    job.write_text(json.dumps({"case": case.to_dict(), "inputs": str(folder / "inputs"),
                               "weights": str(folder / "weights.pt")}))
    return job


def _once(python: str, job: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one case process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([python, "-m", "segtasks.launch.worker", str(job),
                    str(job.with_name("result.json"))],
                   check=True, capture_output=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    banner("case start-up: compiled bytecode against compiling from source, side by side")
    base = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryDirectory(prefix="segbench-startup-") as tmp:
        folder = Path(tmp)
        job = _job(folder)
        (folder / "no-pyc").mkdir()
        envs = {"compiled": base,
                "source": {**base, "PYTHONPYCACHEPREFIX": str(folder / "no-pyc")}}
        _once(args.python, job, base)  # the page cache warm for both
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in envs}
        for run in range(args.runs):
            order = list(envs) if run % 2 == 0 else list(reversed(envs))
            for name in order:
                runs[name].append(_once(args.python, job, envs[name]))
    print(f"{'bytecode':<10} {'wall s':>8} {'cpu s':>8}   (median of {args.runs})")
    medians = {}
    for name, taken in runs.items():
        wall = statistics.median(w for w, _ in taken)
        cpu = statistics.median(c for _, c in taken)
        medians[name] = (wall, cpu)
        print(f"{name:<10} {wall:8.2f} {cpu:8.2f}")
    (cw, cc), (sw, sc) = medians["compiled"], medians["source"]
    print(f"compiled / source: wall {cw / sw:.2f}, cpu {cc / sc:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
