"""How long does the default CPU grid take, and is every case stable?

Runs the nightly's default CPU grid (batch sizes 1-16, default protocol), each case in
its own process as the DAG does, and prints the wall time of each case and of the whole.
Targets: <= 5 minutes on a 2-core machine, with every case stable.

    .venv/bin/python benchmarks/grid_time.py [--batch-sizes 1,2,4,8,16]
"""

from __future__ import annotations

import argparse
import time

from _common import banner, demo_inputs_and_weights

from segtasks.launch import run_case_isolated
from segtasks.nightly import plan

TARGET_S = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-sizes", default="1,2,4,8,16")
    args = parser.parse_args()
    banner("default CPU grid: wall time and stability")
    inputs, weights = demo_inputs_and_weights()
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    cases = plan({"devices": ["cpu"], "batch_sizes": sizes}).cases
    print("| case | wall (s) | timed batches | stopped | median ±95% CI | CV | img/s |")
    print("|---|---|---|---|---|---|---|")
    start = time.perf_counter()
    stable = 0
    for case in cases:
        t0 = time.perf_counter()
        r = run_case_isolated(case, inputs, weights)
        wall = time.perf_counter() - t0
        if r.status != "ok":
            print(f"| {r.case.key} | {wall:.1f} | - | {r.status}: {r.reason} | - | - | - |")
            continue
        latency, speed = r.latency, r.throughput
        stable += bool(latency.stable)
        print(f"| {r.case.key} | {wall:.1f} | {latency.n_batches} | {latency.stop_reason} | "
              f"±{latency.ci_rel:.1%} | {latency.cv:.1%} | {speed.images_per_s:.3f} |")
    total = time.perf_counter() - start
    print(f"\ntotal {total:.0f} s for {len(cases)} cases (target <= {TARGET_S:.0f} s: "
          f"{'met' if total <= TARGET_S else 'MISSED'}); stable {stable}/{len(cases)} "
          f"(target all: {'met' if stable == len(cases) else 'MISSED'})")


if __name__ == "__main__":
    main()
