"""A bisection of a 3-package change measured for real on this machine: how many groups and
steps it takes, how long, and whether it names the planted culprit.

    .venv/bin/python benchmarks/bisection.py [--trials 10] [--slowdown 30] [--pairs 3]

Each trial: the control is this environment's lock; the treatment is it plus three test
packages built into an environment with uv (segtasks.envs): the planted slowdown
(segtasks.envs.planted: UNet++'s forward `--slowdown` % slower) and two that do nothing.
Their names put the culprit first, second or third in the groups' order (by trial), and
each trial's seed changes the pairs' orders. The full change is measured in pairs first
(as the night measures it), then segtasks.bisect.run.bisect_case bisects it with the same
paired rule. Run it on a quiet machine, nothing else running: every figure is a timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import banner, demo_inputs_and_weights  # noqa: E402

from segtasks import paths  # noqa: E402

# the inert packages' names, per culprit position: groups are ordered by package name and
# the planted one is "segbench-planted-slowdown"
LAYOUTS = {0: ("zz-noop-first", "zz-noop-second"),
           1: ("aa-noop-first", "zz-noop-second"),
           2: ("aa-noop-first", "aa-noop-second")}


def _inert_wheel(name: str, folder: Path) -> Path:
    from segtasks.envs.wheels import write_wheel

    module = name.replace("-", "_")
    return write_wheel(folder, name, "1.0", {f"{module}/__init__.py": "# does nothing\n"},
                       summary="segbench benchmark: a package that changes nothing")


def _treatment(base, wheels):
    from segtasks.envs.lock import Lock, Package

    added = [Package(w.name.split("-")[0].replace("_", "-"), w.name.split("-")[1],
                     source=w.resolve().as_uri()) for w in wheels]
    return Lock(python_version=base.python_version,
                packages=(*(p for p in base.packages
                            if p.name not in {a.name for a in added}), *added),
                code_revision=base.code_revision)


def _case(batch_size: int, seconds: float):
    from segtasks.plan import validate

    [case] = validate({"devices": ["cpu"], "batch_sizes": [batch_size], "n_images": 4,
                       "min_seconds": seconds, "max_seconds": seconds,
                       "end_to_end_passes": 1, "end_to_end_seconds": 0}).cases
    return case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--slowdown", type=float, default=30.0, help="percent")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--mode", default="duet", choices=["duet", "interleaved"])
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="each side's timed loop (s)")
    parser.add_argument("--min-effect", type=float, default=0.05)
    parser.add_argument("--file", type=Path, default=paths.var_dir() / "bisection_bench.jsonl")
    args = parser.parse_args()

    from segtasks.bisect.run import bisect_case
    from segtasks.domain.bisection import BisectionOutcome, BisectionStep
    from segtasks.envs import build, planted, snapshot
    from segtasks.pairs.measure import SideSpec, measure_pairs
    from segtasks.pairs.stats import paired_summary
    from segtasks.pairs.verdict import judge_software

    banner("bisection of a 3-package change, measured")
    inputs, weights = demo_inputs_and_weights()
    case = _case(args.batch_size, args.seconds)
    base = snapshot.current()
    folder = Path(tempfile.mkdtemp(prefix="segbench-bisect-bench-"))
    slow = planted.planted_slowdown_wheel(args.slowdown, folder)
    args.file.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for trial in range(args.trials):
        position = trial % 3
        wheels = [slow, *(_inert_wheel(n, folder) for n in LAYOUTS[position])]
        treatment = _treatment(base, wheels)
        started = time.monotonic()
        python = build.interpreter(treatment)
        built_s = time.monotonic() - started
        full = measure_pairs(case, inputs=inputs, weights=weights,
                             control=SideSpec(sys.executable, base.sha256),
                             treatment=SideSpec(python, treatment.sha256), pairs=args.pairs,
                             mode=args.mode, seed=trial)
        summary = paired_summary(*full.complete_pairs())
        verdict, _ = judge_software(summary, min_effect=args.min_effect,
                                    metric="images_per_s", higher_is_better=True)
        full_step = BisectionStep(step=0, moved=(), lock_sha256=treatment.sha256,
                                  verdict=verdict, pairs=summary.n, ratio=summary.ratio,
                                  ci_low=summary.ci_low, ci_high=summary.ci_high,
                                  mde=summary.mde, seconds=full.spent_s)
        found = None
        if verdict == "regression":
            found = bisect_case(case, control=base, treatment=treatment, full=full_step,
                                inputs=inputs, weights=weights, pairs=args.pairs,
                                mode=args.mode, seed=1000 + trial, min_effect=args.min_effect,
                                budget_s=None)
        took = time.monotonic() - started
        named = (found is not None and found.outcome == BisectionOutcome.CULPRIT
                 and any(planted.NAME in found.group(i).packages for i in found.culprit))
        row = {"trial": trial, "culprit_position": position, "full_verdict": verdict,
               "full_change": summary.change, "groups": len(found.groups) if found else None,
               "steps": len(found.steps) if found else 0,
               "outcome": str(found.outcome) if found else "not bisected",
               "named_planted": named, "minutes": took / 60, "build_s": built_s,
               # the bisection's own machine time, without the full pairs and first build
               "bisect_minutes": (found.spent_s or 0) / 60 if found else 0,
               "detail": found.detail if found else None}
        rows.append(row)
        with args.file.open("a") as out:
            out.write(json.dumps(row) + "\n")
        print(f"trial {trial}: culprit at {position}, full {verdict} "
              f"{summary.change or 0:+.1%}, {row['outcome']}, {row['steps']} steps, "
              f"{row['minutes']:.1f} min, named the planted package: {named}", flush=True)
    print()
    print("| trials | groups | steps (median, range) | minutes (median, range) | "
          "named the planted culprit | other outcomes |")
    print("|---|---|---|---|---|---|")
    steps = [r["steps"] for r in rows]
    minutes = [r["minutes"] for r in rows]
    others = sorted({r["outcome"] for r in rows if not r["named_planted"]})
    groups = sorted({r["groups"] for r in rows if r["groups"] is not None})
    print(f"| {len(rows)} | {', '.join(map(str, groups)) or '-'} | "
          f"{statistics.median(steps):g} ({min(steps)}-{max(steps)}) | "
          f"{statistics.median(minutes):.1f} ({min(minutes):.1f}-{max(minutes):.1f}) | "
          f"{sum(r['named_planted'] for r in rows)} of {len(rows)} | "
          f"{', '.join(others) or 'none'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
