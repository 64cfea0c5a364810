"""Does the stored interval of the median hold where measuring stops?

Simulates latency streams with a known median (100 ms): independent (phi 0) and AR(1)
correlated (phi 0.5, 0.7, 0.9) in log space, so that the marginal distribution is
lognormal with coefficient of variation CV, and feeds them batch by batch, with a clock
that advances by a fixed batch time, to two stopping rules with the nightly's defaults
(min_batches 6, min_seconds 2, max_seconds 30, ci_target 2%):

- ours: segtasks.measure.stopping.StoppingRule and the interval it stores
  (segtasks.measure.stats: order statistics widened by the lag-1 autocorrelation, looked
  at only at geometrically growing batch counts);
- the old rule (before this change): the plain order-statistic interval, checked after
  every batch.

For each it prints the coverage at the stopping point (the share of streams whose stored
interval holds the true median), over every stream and over those declared stable, the
share declared stable, the median number of batches, and the share of "stable" medians
more than 2% off. Target for ours: coverage >= 0.93 for phi <= 0.7.

    .venv/bin/python benchmarks/stopping_coverage.py [--streams 1000] [--batch-ms 100]
        [--phis 0,0.5,0.7,0.9] [--cvs 0.02,0.05,0.1]
"""

from __future__ import annotations

import argparse

import numpy as np

from segtasks.measure.stats import LatencyStats, median_ci
from segtasks.measure.stopping import StoppingRule

TRUE_MEDIAN = 100.0
TARGET = 0.93
DEFAULTS = {"min_batches": 6, "min_seconds": 2.0, "max_seconds": 30.0, "ci_target": 0.02}


def stream(rng: np.random.Generator, phi: float, cv: float, n: int) -> np.ndarray:
    """AR(1) in log space with unit marginal variance scaled by cv: the median stays 100."""
    noise = rng.normal(0, 1, n)
    x = np.empty(n)
    x[0] = noise[0]
    scale = np.sqrt(1 - phi * phi)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + scale * noise[i]
    return TRUE_MEDIAN * np.exp(cv * x)


def ours(samples: np.ndarray, batch_s: float) -> tuple[int, float, float, bool]:
    rule = StoppingRule(**DEFAULTS)
    for n in range(1, len(samples) + 1):
        stop = rule.stop_reason(samples[:n], n * batch_s)
        if stop:
            stats = LatencyStats.from_samples(samples[:n])
            return n, stats.ci_low_ms, stats.ci_high_ms, stop == "stable"
    raise AssertionError("stream too short")


def old_rule(samples: np.ndarray, batch_s: float) -> tuple[int, float, float, bool]:
    """Plain order-statistic interval, checked after every batch once the minimums are met."""
    for n in range(1, len(samples) + 1):
        elapsed = n * batch_s
        if n < DEFAULTS["min_batches"]:
            continue
        low, high = median_ci(samples[:n])
        median = float(np.median(samples[:n]))
        if elapsed >= DEFAULTS["min_seconds"] and \
                max(median - low, high - median) / median <= DEFAULTS["ci_target"]:
            return n, low, high, True
        if elapsed >= DEFAULTS["max_seconds"]:
            return n, low, high, False
    raise AssertionError("stream too short")


def evaluate(rule, streams: list[np.ndarray], batch_s: float) -> dict[str, float]:
    covered = stable = covered_stable = far_off = 0
    sizes = []
    for samples in streams:
        n, low, high, is_stable = rule(samples, batch_s)
        hit = low <= TRUE_MEDIAN <= high
        covered += hit
        sizes.append(n)
        if is_stable:
            stable += 1
            covered_stable += hit
            far_off += abs(np.median(samples[:n]) / TRUE_MEDIAN - 1) > 0.02
    count = len(streams)
    return {"coverage": covered / count, "stable": stable / count,
            "coverage_stable": covered_stable / stable if stable else float("nan"),
            "far_off": far_off / stable if stable else float("nan"),
            "batches": float(np.median(sizes))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--batch-ms", type=float, default=100.0,
                        help="simulated time per batch (100: a CPU case; 5: a GPU case)")
    parser.add_argument("--phis", default="0,0.5,0.7,0.9")
    parser.add_argument("--cvs", default="0.02,0.05,0.1")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from _common import banner

    banner("coverage of the median's interval at the stopping point, ours beside the old rule")
    batch_s = args.batch_ms / 1e3
    length = int(DEFAULTS["max_seconds"] / batch_s) + 2
    print(f"# {args.streams} streams per cell, {args.batch_ms:g} ms per batch (at most "
          f"{length - 2} batches), defaults {DEFAULTS}; nominal coverage 0.95")
    print("| phi | CV | rule | coverage (all stops) | stable | coverage when stable | "
          "stable but > 2% off | median batches | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for phi in (float(p) for p in args.phis.split(",")):
        for cv in (float(c) for c in args.cvs.split(",")):
            rng = np.random.default_rng([args.seed, int(phi * 100), int(cv * 1000)])
            streams = [stream(rng, phi, cv, length) for _ in range(args.streams)]
            for name, rule in (("ours", ours), ("old", old_rule)):
                r = evaluate(rule, streams, batch_s)
                target = "-"
                if name == "ours" and phi <= 0.7:
                    target = "met" if r["coverage"] >= TARGET else "MISSED"
                elif name == "ours":
                    target = "(reported)"
                when_stable = ("- | -" if r["stable"] == 0 else
                               f"{r['coverage_stable']:.3f} | {r['far_off']:.0%}")
                print(f"| {phi:g} | {cv:.0%} | {name} | {r['coverage']:.3f} | {r['stable']:.0%} "
                      f"| {when_stable} | {r['batches']:.0f} | {target} |", flush=True)


if __name__ == "__main__":
    main()
