"""How often does the detector cry wolf, and how fast does it catch a real step?

Simulates nightly series: each night is 30 batch latencies (lognormal, coefficient of
variation CV) around the series' level, times a night-to-night drift of the same CV, with
an occasional outlier night (0.5% of nights, 15-30% slower: a busy machine). Steps of 2,
5, 10 and 20% slower are planted after 30 ordinary nights. segbench's own decision code
(segtasks.judge.decide, with the thresholds a default night builds, and tonight's
median interval from segtasks.measure.stats) judges
every night, beside a fixed 7% gate (TorchBench) and a z > 5 rule (Conbench), on the
same series.

    .venv/bin/python benchmarks/detector_eval.py [--series 300] [--cvs 0.01,0.02,0.03,0.08]

Prints, per rule and CV: false alarms per series-night (outlier nights counted as false
alarms too, then without them), detection on the step's first night, and the mean nights
until detection within a week. Targets for ours at CV <= 3%: false alarms <= 1%,
detection >= 95% at a 10% step on the first night, >= 80% at 5%.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from segtasks.judge.decide import decide
from segtasks.judge.metrics import BY_NAME
from segtasks.judge.thresholds import Threshold, night_thresholds
from segtasks.measure.stats import median_ci
from segtasks.plan import validate

SPEED = BY_NAME["images_per_s"]


def thresholds(**conf: float) -> Threshold:
    """Images/s thresholds of a night run with these parameters, built as the nightly does."""
    return night_thresholds(validate(conf).judging).of("cpu-bs1-fp32", SPEED.name)
K, HISTORY, AFTER, BATCHES, NOISE_WINDOW = 7, 30, 7, 30, 30
OUTLIER_P = 0.005


def night(rng: np.random.Generator, level: float, cv: float, drift_ratio: float
          ) -> tuple[float, float, bool]:
    """(images/s, relative half-width of the median's interval, outlier?) for one night."""
    outlier = rng.random() < OUTLIER_P
    drift = (1 + rng.normal(0, cv * drift_ratio)) * (rng.uniform(1.15, 1.30) if outlier else 1.0)
    latencies = (100.0 / level) * drift * rng.lognormal(0, cv, BATCHES)
    median = float(np.median(latencies))
    low, high = median_ci(latencies)
    return 100.0 / median, max(median - low, high - median) / median, outlier


def series(rng: np.random.Generator, cv: float, step: float, drift_ratio: float
           ) -> list[tuple[float, float, bool]]:
    nights = [night(rng, 1.0, cv, drift_ratio) for _ in range(HISTORY)]
    return nights + [night(rng, 1.0 - step, cv, drift_ratio) for _ in range(AFTER)]


def ours(threshold: Threshold, noise_window: int = NOISE_WINDOW):
    def flag(history: list[float], tonight: float, ci_rel: float) -> bool:
        newest_first = history[::-1]
        return decide(SPEED, threshold, tonight, newest_first[:K],
                      noise_values=newest_first[:noise_window],
                      tonight_ci_rel=ci_rel).verdict == "regression"
    return flag


def fixed_gate(history: list[float], tonight: float, _ci: float) -> bool:
    return tonight < statistics.median(history[-K:]) * (1 - 0.07)


def conbench(history: list[float], tonight: float, _ci: float) -> bool:
    window = history[-HISTORY:]
    mean, std = statistics.fmean(window), statistics.stdev(window)
    return std > 0 and (mean - tonight) / std > 5


def evaluate(rule, runs: dict[float, list[list[tuple[float, float, bool]]]]) -> dict:
    false, false_clean, nights, clean_nights = 0, 0, 0, 0
    for s in runs[0.0]:
        for t in range(K, len(s)):
            flagged = rule([v for v, _, _ in s[:t]], s[t][0], s[t][1])
            nights += 1
            false += flagged
            if not s[t][2]:
                clean_nights += 1
                false_clean += flagged
    out = {"fa": false / nights, "fa_clean": false_clean / clean_nights}
    for step, all_series in runs.items():
        if step == 0.0:
            continue
        first, delays = 0, []
        for s in all_series:
            for d in range(AFTER):
                t = HISTORY + d
                if rule([v for v, _, _ in s[:t]], s[t][0], s[t][1]):
                    first += d == 0
                    delays.append(d + 1)
                    break
        out[step] = (first / len(all_series), statistics.fmean(delays) if delays else None,
                     len(delays) / len(all_series))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--cvs", default="0.01,0.02,0.03")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drift", type=float, default=0.5,
                        help="night-to-night drift as a fraction of the within-run CV")
    args = parser.parse_args()
    from _common import banner

    banner("regression detector: false alarms and detection on simulated nightly series")
    steps = (0.0, 0.02, 0.05, 0.10, 0.20)
    rules = {
        "segbench (min effect 5%, z >= 3)": ours(thresholds()),
        "segbench, min effect 4%": ours(thresholds(min_effect=0.04)),
        "segbench, min effect 4%, z >= 2.5": ours(thresholds(min_effect=0.04, z_threshold=2.5)),
        "segbench, noise from the K baseline nights only": ours(thresholds(), noise_window=K),
        "fixed 7% gate (TorchBench)": fixed_gate,
        "z > 5 over 30 nights (Conbench)": conbench,
    }
    print(f"# {args.series} series per step and CV; {HISTORY} nights of history, baseline "
          f"K={K}, noise window {NOISE_WINDOW}; {BATCHES} batches a night; night-to-night "
          f"drift {args.drift:g} x CV; outlier nights {OUTLIER_P:.1%}")
    print("| rule | CV | false alarms / series-night | (without outlier nights) | "
          + " | ".join(f"{s:.0%} step: first night (within a week, mean nights)"
                       for s in steps[1:]) + " |")
    print("|---|---|---|---|" + "---|" * (len(steps) - 1))
    for cv in (float(c) for c in args.cvs.split(",")):
        rng = np.random.default_rng([args.seed, int(cv * 1e4)])
        runs = {step: [series(rng, cv, step, args.drift) for _ in range(args.series)]
                for step in steps}
        for name, rule in rules.items():
            r = evaluate(rule, runs)
            cells = []
            for step in steps[1:]:
                first, mean_delay, caught = r[step]
                delay = "-" if mean_delay is None else f"{mean_delay:.1f}"
                cells.append(f"{first:.0%} ({caught:.0%}, {delay})")
            print(f"| {name} | {cv:.0%} | {r['fa']:.2%} | {r['fa_clean']:.2%} | "
                  + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
