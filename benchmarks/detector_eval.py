"""How often does each rule cry wolf, and how fast does it catch a real step?

All rules run side by side on the same simulated series (benchmarks/detector_model.py:
within-process batch noise, night-to-night drift, process-to-process variation, one-off
outlier processes, disturbed nights): segbench's nightly decision (first measurement,
same-night confirmation of screened changes, the step test that pools nights;
benchmarks/detector_rules.py calls the nightly's own functions with the defaults a night
is run with), TorchBench's fixed 7% gate and its two-consecutive-nights rule, Conbench's
z > 5, and the real Apache Otava (change-point detection, its defaults) and asv
(asv.step_detect, its default 5% threshold). Each series has 30 ordinary nights, then a
step of 5, 10 or 20% (or none) and 7 nights after it.

    .venv/bin/python benchmarks/detector_eval.py [--series 200] [--cvs 0.01,0.02,0.03,0.08]
        [--drift 0.5] [--process-ratio 0.25] [--seed 0] [--no-reference-tools]

Otava and asv are optional benchmark dependencies: `pip install -e '.[bench]'` (asv) and
`pip install --no-deps apache-otava` (its own metadata would downgrade numpy and scipy:
see pyproject.toml).

Prints per rule and CV: alerts per series-night on nights without a step (each rule's
own alerts: a flagged night for the per-night rules, a newly placed change point for
Otava and asv, a newly alerted regression for segbench, whose ongoing regressions are not
alerted again), first-night detection and within-a-week detection (change placed at most
2 nights from the step) with the mean nights until then; for segbench also the median
minimum detectable effect of its first-night decision, the share of nights without a step
it calls inconclusive (too noisy to tell: segtasks.judge.decide.INCONCLUSIVE_FACTOR) and
the machine time confirmation costs on nights without a step, as a fraction of the grid's
time.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector_model import NoiseModel, Series, simulate  # noqa: E402
from detector_rules import Walk, asv_steps, conbench, fixed_gate, otava, segbench, settings  # noqa: E402,I001

HISTORY, AFTER, START = 30, 7, 7
STEPS = (0.0, 0.05, 0.10, 0.20)
PLACED_WITHIN = 2  # a change point this close to the step counts as catching it


def optional_tools() -> dict:
    try:
        return {"Apache Otava (defaults)": otava(), "asv step_detect (5%)": asv_steps()}
    except ImportError as exc:
        sys.exit(f"detector_eval: {exc.name} is not installed; install the optional benchmark "
                 "dependencies with `.venv/bin/pip install -e '.[bench]'` (asv) and "
                 "`.venv/bin/pip install --no-deps apache-otava` (its metadata would "
                 "downgrade numpy and scipy), or run with --no-reference-tools")


def clean(series: Series) -> tuple[np.ndarray, np.ndarray, int]:
    """The series without its disturbed nights, and where its step now is."""
    keep = ~series.disturbed
    step_at = int(keep[:HISTORY].sum())
    return series.images_per_s[keep], series.ci_rel[keep], step_at


def evaluate(rule, runs: dict[float, list[Series]]) -> dict:
    alerts, nights, cost, first_procs, mdes, inconclusive = 0, 0, 0, 0, [], 0
    caught: dict[float, tuple[int, list[int], int]] = {}
    for step, all_series in runs.items():
        first_night, delays = 0, []
        for s in all_series:
            ips, ci, step_at = clean(s)
            walk: Walk = rule(ips, ci, START)
            quiet_end = len(ips) if step == 0.0 else step_at
            alerts += sum(1 for night, _ in walk.alerts if night < quiet_end)
            nights += quiet_end - START
            if step == 0.0:
                cost += walk.confirm_processes
                first_procs += walk.first_processes
                mdes += walk.mdes
                inconclusive += walk.inconclusive
                continue
            found = [night - step_at for night, where in walk.alerts
                     if night >= step_at and abs(where - step_at) <= PLACED_WITHIN
                     and night - step_at < AFTER]
            if found:
                first_night += found[0] == 0
                delays.append(found[0] + 1)
        if step:
            caught[step] = (first_night, delays, len(all_series))
    return {"fa": alerts / nights, "caught": caught,
            "cost": cost / first_procs if first_procs else None,
            "mde": statistics.median(mdes) if mdes else None,
            "inconclusive": inconclusive / first_procs if first_procs else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=200, help="series per step and CV")
    parser.add_argument("--cvs", default="0.01,0.02,0.03,0.08")
    parser.add_argument("--drift", type=float, default=0.5,
                        help="night-to-night sd as a multiple of the within-process CV")
    parser.add_argument("--process-ratio", type=float, default=0.25,
                        help="process-to-process sd as a multiple of the within-process CV")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-reference-tools", action="store_true",
                        help="leave out Otava and asv (not installed, or to run faster)")
    args = parser.parse_args()
    judging = settings()
    rules = {
        "segbench (defaults)": segbench(judging),
        "segbench, no confirmation": segbench(judging, confirmation=False),
        "segbench, no step test": segbench(judging, steps=False),
        "fixed 7% gate (TorchBench)": fixed_gate(),
        "7% gate two nights in a row (TorchBench)": fixed_gate(nights_in_a_row=2),
        "z > 5 over 30 nights (Conbench)": conbench(),
    }
    if not args.no_reference_tools:
        rules.update(optional_tools())
    print("# regression detectors side by side on simulated nightly series")
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, python "
          f"{platform.python_version()}; command: {' '.join(sys.argv)}")
    print(f"# {args.series} series per step and CV; {HISTORY} nights then a step and {AFTER} "
          f"nights; segbench: {judging}")
    print("| rule | CV | alerts / series-night without a step | "
          + " | ".join(f"{s:.0%} step: first night (within a week, mean nights)"
                       for s in STEPS[1:])
          + " | MDE first night | inconclusive nights | confirmation cost |")
    print("|---|---|---|" + "---|" * (len(STEPS) - 1) + "---|---|---|")
    for cv in (float(c) for c in args.cvs.split(",")):
        model = NoiseModel(cv=cv, drift=args.drift, process_ratio=args.process_ratio)
        rng = np.random.default_rng([args.seed, int(cv * 1e4)])
        runs = {step: simulate(rng, model, series=args.series, nights=HISTORY + AFTER,
                               step_night=HISTORY, step=step,
                               processes=1 + judging.confirm_repeats)
                for step in STEPS}
        for name, rule in rules.items():
            started = time.monotonic()
            r = evaluate(rule, runs)
            cells = []
            for step in STEPS[1:]:
                first, delays, n = r["caught"][step]
                mean = f"{statistics.fmean(delays):.1f}" if delays else "-"
                cells.append(f"{first / n:.1%} ({len(delays) / n:.1%}, {mean})")
            mde = f"{r['mde']:.1%}" if r["mde"] is not None and "segbench" in name else ""
            cost = f"{r['cost']:.1%}" if r["cost"] is not None and "segbench" in name else ""
            unsure = (f"{r['inconclusive']:.1%}" if r["inconclusive"] is not None
                      and "segbench" in name else "")
            print(f"| {name} | {cv:.0%} | {r['fa']:.2%} | " + " | ".join(cells)
                  + f" | {mde} | {unsure} | {cost} |", flush=True)
            print(f"#   ({time.monotonic() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
