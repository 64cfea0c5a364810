"""Does segbench tell a disturbed case from a quiet one?

Runs the same case, each time in its own process as the nightly does (one attempt: no
re-measurement, so that every attempt is counted), alternately on a quiet machine and
with a busy loop (a process spinning in pure Python) pinned to one of the case's cores in
use, `--runs` times each. Prints each run's interference, steal, validity and images/s,
then the share of disturbed runs marked not valid and of quiet runs marked valid.
Targets: every disturbed run not valid; at least 95% of quiet runs valid.

What to expect, and how the default limits were chosen: a busy loop on one of N cores in
use takes between 1/(2N) of them (when the case's threads compete for that core all the
time and the scheduler shares it evenly) and 1/N (when they leave it idle), i.e. 25-50% of
2 cores, 12-25% of 4, 6-12% of 8; a quiet dedicated machine leaves a few percent to
daemons, kernel threads and the tick-based accounting's error. The default
`max_interference` of 10% sits between the two for up to 4 cores in use; on more cores,
pin the case (`cpu_affinity`) or lower the limit. Steal time on a quiet host is about 0;
`max_steal` 5% is the size of the smallest effect the judge flags (min_effect 5%). The
printed quiet maximum and disturbed minimum are what to set the limits between.

    .venv/bin/python benchmarks/interference.py [--runs 10] [--device cpu] [--batch-size 1]
        [--conf '{"cpu_affinity": [0, 1]}']
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from _common import banner, demo_inputs_and_weights

from segtasks.launch.isolated import run_case_isolated
from segtasks.measure.placement import allowed_cores
from segtasks.plan import validate

BUSY_LOOP = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])})\nwhile True: pass"


def busy_loop(core: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(core)],
                            start_new_session=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="runs of each kind")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--conf", default="{}", help="more run parameters, as JSON")
    args = parser.parse_args()
    banner("interference: quiet runs against runs with a busy loop on a core in use")
    conf = {"devices": [args.device], "batch_sizes": [args.batch_size], **json.loads(args.conf)}
    case = validate(conf).cases[0]
    cores = case.cpu_affinity or allowed_cores()
    target_core = cores[-1]
    inputs, weights = demo_inputs_and_weights()
    print(f"# case {case.key}, cores in use {list(cores)}, busy loop on core {target_core}, "
          f"limits: interference {case.max_interference:.0%}, steal {case.max_steal:.0%}")
    print("| run | kind | status | interference | steal | valid | images/s | cause |")
    print("|---|---|---|---|---|---|---|---|")
    seen: dict[str, list] = {"quiet": [], "busy": []}
    for i in range(2 * args.runs):
        kind = "quiet" if i % 2 == 0 else "busy"
        loop = busy_loop(target_core) if kind == "busy" else None
        try:
            result = run_case_isolated(case, inputs, weights)
        finally:
            if loop is not None:
                loop.kill()
                loop.wait()
        v = result.validity
        speed = result.throughput.images_per_s if result.throughput else None
        seen[kind].append((result, speed))
        print(f"| {i // 2 + 1} | {kind} | {result.status} | "
              f"{'-' if not v or v.interference is None else f'{v.interference:.1%}'} | "
              f"{'-' if not v or v.steal is None else f'{v.steal:.1%}'} | "
              f"{'-' if not v else ('yes' if v.valid else 'no')} | "
              f"{'-' if speed is None else f'{speed:.3f}'} | "
              f"{(v.validity_reason if v else result.reason) or ''} |", flush=True)

    def rate(kind: str, valid: bool) -> str:
        measured = [r for r, _ in seen[kind] if r.status == "ok" and r.validity]
        hits = sum(r.validity.valid == valid for r in measured)
        return f"{hits}/{len(measured)}"

    def shares(kind: str) -> list[float]:
        return [r.validity.interference for r, _ in seen[kind]
                if r.validity and r.validity.interference is not None]

    def median_speed(kind: str) -> str:
        values = [s for _, s in seen[kind] if s is not None]
        return f"{statistics.median(values):.3f}" if values else "-"

    quiet, busy = shares("quiet"), shares("busy")
    print(f"\ndisturbed runs marked not valid: {rate('busy', False)} (target: all)")
    print(f"quiet runs marked valid: {rate('quiet', True)} (target: >= 95%)")
    if quiet and busy:
        print(f"interference: quiet max {max(quiet):.1%}, disturbed min {min(busy):.1%} "
              f"(the limit, now {case.max_interference:.0%}, belongs between them)")
    print(f"median images/s: quiet {median_speed('quiet')}, disturbed {median_speed('busy')}")


if __name__ == "__main__":
    main()
