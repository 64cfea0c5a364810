"""Paired nights measured for real on this machine: how much noise pairing removes, what a
paired night can detect on its first night, how often an A/A night raises a false alarm,
and what pairing costs in time.

Measuring (real processes; run it on a quiet machine, nothing else running, since every
figure is a timing):

    .venv/bin/python benchmarks/paired_nights.py measure [--nights 10] [--pairs 4]

Each "night" measures the default CPU cases at batch sizes 1 and 4 the way a paired night
does (segtasks.pairs.measure.measure_pairs: fresh processes, randomized order per pair):
- an A/A comparison: the current environment on both sides (the same lock);
- a real slowdown in the treatment environment only: a test package installed in a second
  environment built with uv (segtasks.envs.planted) makes UNet++'s forward 3, 5 or 10%
  slower (one level per night, in turn), so the change lives in the environment, where a
  real one would be; the harness is the same segtasks on both sides.
The pair mode alternates by night (interleaved, duet), so both are measured on the same
machine in the same hour. The first night also times one ordinary bench process per case
(the default protocol), for the time cost. Every side is one line of var/paired_nights.jsonl.

Analysing (no timing):

    .venv/bin/python benchmarks/paired_nights.py analyse [--file ...] [--min-effect 0.05]

prints, per case and mode: the unpaired night-to-night noise (the control's per-night
value, as an ordinary night would see it) and its minimum detectable effect by the judge's
own rule (segtasks.judge.decide); the paired noise (sd of per-pair log ratios) and the
paired MDE at the pairs measured (segtasks.pairs.stats); A/A nights that flagged, beside the
false-alarm rate per series-night estimated by resampling the measured A/A pairs through
the paired verdict (segtasks.pairs.verdict.judge_software); the first-night verdicts on the
3, 5 and 10% slowdowns; and the time of a paired case against an ordinary one.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from segtasks import paths

DEFAULT_FILE = paths.var_dir() / "paired_nights.jsonl"
CASES = ("cpu-bs1", "cpu-bs4")
# a paired side measures only the headline figure: one short end-to-end pass, a short stopping
# window (the pairs, not one long process, carry the precision)
SIDE_PROTOCOL = {"end_to_end_passes": 1, "end_to_end_seconds": 0, "min_seconds": 2.0,
                 "max_seconds": 4.0}


def _case(key: str, protocol: dict):
    from segtasks.plan import validate

    device, bs = key.split("-")
    conf = {"devices": [device], "batch_sizes": [int(bs.removeprefix("bs"))], **protocol}
    [case] = validate(conf).cases
    return case


def _treatments(levels: list[float], folder: Path) -> dict[float, tuple[str, str]]:
    """level -> (python, lock sha256) of an environment with the planted slowdown."""
    from segtasks.envs import build, planted, snapshot

    base = snapshot.current()
    found = {}
    for level in levels:
        wheel = planted.planted_slowdown_wheel(level, folder)
        lock = planted.lock_with(base, wheel)
        started = time.monotonic()
        python = build.interpreter(lock)
        print(f"# environment with a {level:g}% slowdown: {lock.short}, ready in "
              f"{time.monotonic() - started:.1f} s ({python})", flush=True)
        found[level] = (python, lock.sha256)
    return found


def measure(args: argparse.Namespace) -> None:
    from _common import banner, demo_inputs_and_weights

    from segtasks.domain.paired import PairMode
    from segtasks.envs import snapshot
    from segtasks.launch import run_case_isolated
    from segtasks.pairs.measure import SideSpec, measure_pairs

    banner("paired nights: A/A and planted slowdowns, interleaved and duet")
    inputs, weights = demo_inputs_and_weights()
    current = snapshot.current()
    control = SideSpec(python=sys.executable, lock_sha256=current.sha256)
    treatments = _treatments(args.levels, paths.var_dir() / "wheels")
    modes = [PairMode(m) for m in args.modes]
    args.file.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    session = args.session or f"{datetime.now(UTC):%Y-%m-%dT%H%M}"
    with args.file.open("a") as out:
        def write(**line) -> None:
            out.write(json.dumps({"session": session, **line}) + "\n")
            out.flush()

        for key in CASES if args.ordinary else ():
            started = time.monotonic()
            result = run_case_isolated(_case(key, {}), inputs, weights)
            write(kind="ordinary", case=key, seconds=time.monotonic() - started,
                  status=result.status,
                  images_per_s=result.throughput.images_per_s if result.throughput else None)
            print(f"ordinary {key}: {time.monotonic() - started:.1f} s", flush=True)
        for night in range(args.nights):
            mode = modes[night % len(modes)]
            level = args.levels[night % len(args.levels)]
            comparisons = [("aa", 0.0, control), ("slow", level, SideSpec(*treatments[level]))]
            for key in CASES:
                case = _case(key, SIDE_PROTOCOL)
                rng.shuffle(comparisons)
                for name, planted_pct, treatment in comparisons:
                    started = time.monotonic()
                    outcome = measure_pairs(case, inputs=inputs, weights=weights,
                                            control=control, treatment=treatment,
                                            pairs=args.pairs, mode=mode,
                                            seed=rng.randrange(2**31))
                    took = time.monotonic() - started
                    for side in outcome.sides:
                        write(kind="side", night=night, case=key, comparison=name,
                              planted=planted_pct, mode=str(mode), pair=side.pair,
                              position=side.position, side=str(side.side),
                              status=side.status, valid=side.valid,
                              images_per_s=side.images_per_s, seconds=side.seconds)
                    write(kind="paired_case", night=night, case=key, comparison=name,
                          planted=planted_pct, mode=str(mode), pairs=args.pairs, seconds=took)
                    print(f"night {night} {key} {name} {planted_pct:g}% {mode}: "
                          f"{took:.1f} s", flush=True)


# --- analysis -------------------------------------------------------------------------------

def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _pairs(sides: list[dict]) -> tuple[list[float], list[float]]:
    """(control, treatment) values of the complete, valid pairs."""
    by_pair: dict[int, dict[str, float]] = defaultdict(dict)
    for s in sides:
        if s["status"] == "ok" and s["valid"] is not False and s["images_per_s"]:
            by_pair[s["pair"]][s["side"]] = s["images_per_s"]
    complete = [p for _, p in sorted(by_pair.items()) if {"control", "treatment"} <= set(p)]
    return [p["control"] for p in complete], [p["treatment"] for p in complete]


def _false_alarm_rate(log_ratios: list[float], pairs: int, min_effect: float,
                      draws: int, seed: int) -> float:
    """Resample A/A nights of `pairs` pairs from the measured A/A log ratios (centred, so
    that the resampled nights are A/A by construction) through the paired verdict."""
    from segtasks.pairs.stats import paired_summary
    from segtasks.pairs.verdict import judge_software

    rng = random.Random(seed)
    centre = statistics.fmean(log_ratios)
    pool = [r - centre for r in log_ratios]
    alarms = 0
    for _ in range(draws):
        ratios = [math.exp(rng.choice(pool)) for _ in range(pairs)]
        summary = paired_summary([1.0] * pairs, ratios)
        verdict, _ = judge_software(summary, min_effect=min_effect, metric="images_per_s",
                                    higher_is_better=True)
        alarms += verdict in ("regression", "improvement")
    return alarms / draws


def analyse(args: argparse.Namespace) -> None:
    from segtasks.judge.decide import minimum_detectable_effect, series_noise
    from segtasks.judge.thresholds import Threshold
    from segtasks.pairs.stats import paired_summary
    from segtasks.pairs.verdict import judge_software

    rows = _rows(args.file)
    sessions = sorted({r["session"] for r in rows})
    sides = [r for r in rows if r["kind"] == "side"]
    nights = {(r["session"], r["night"]) for r in sides}
    print(f"# {args.file}: sessions {', '.join(sessions)}; {len(nights)} nights, "
          f"{len(sides)} processes")
    # the judge's rule without its min_effect floor: what the noise alone lets it see
    statistical = Threshold(min_effect=1e-9, z_threshold=3.0)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for s in sides:
        groups[(s["session"], s["night"], s["case"], s["comparison"], s["mode"],
                s["planted"])].append(s)

    print("\n## Noise and minimum detectable effect (images/s)\n")
    print("| case | mode | nights | unpaired night-to-night sd | unpaired MDE (judge's rule, "
          "no min_effect floor) | "
          "paired sd per pair (log) | pairs | paired MDE (90% power) | "
          "A/A nights flagged | A/A false alarms per series-night (resampled) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in CASES:
        for mode in ("interleaved", "duet"):
            aa = {k: v for k, v in groups.items()
                  if k[2] == case and k[4] == mode and k[3] == "aa"}
            if not aa:
                continue
            night_values, log_ratios, flagged, sizes = [], [], 0, []
            for group in aa.values():
                control, treatment = _pairs(group)
                if len(control) < 2:
                    continue
                night_values.append(statistics.median(control))
                log_ratios += [math.log(t / c) for c, t in zip(control, treatment, strict=True)]
                summary = paired_summary(control, treatment)
                verdict, _ = judge_software(summary, min_effect=args.min_effect,
                                            metric="images_per_s", higher_is_better=True)
                flagged += verdict in ("regression", "improvement")
                sizes.append(len(control))
            if len(night_values) < 2:
                continue
            centre = statistics.median(night_values)
            noise = series_noise(night_values) / centre
            unpaired_mde = minimum_detectable_effect(noise, statistical)
            pairs = round(statistics.median(sizes))
            sd = statistics.stdev(log_ratios)
            paired_mde = paired_summary([1.0] * pairs, [math.exp(sd * z) for z in
                                                        _unit_spread(pairs)]).mde
            rate = _false_alarm_rate(log_ratios, pairs, args.min_effect, args.draws, 7)
            print(f"| {case} | {mode} | {len(night_values)} | {noise:.1%} | "
                  f"{unpaired_mde:.1%} | {sd:.2%} | {pairs} | {paired_mde:.1%} | "
                  f"{flagged} of {len(night_values)} | {rate:.3%} ({args.draws} draws) |")

    print("\n## First-night verdicts on real slowdowns in the treatment environment\n")
    print("| case | mode | planted | nights | measured change (median) | "
          f"flagged a regression (min_effect {args.min_effect:.0%}) | interval excluded 0 |")
    print("|---|---|---|---|---|---|---|")
    slow: dict[tuple, list] = defaultdict(list)
    for k, group in groups.items():
        if k[3] == "slow":
            slow[(k[2], k[4], k[5])].append(group)
    for (case, mode, planted), nights_of in sorted(slow.items()):
        changes, flagged, excluded = [], 0, 0
        for group in nights_of:
            control, treatment = _pairs(group)
            if len(control) < 2:
                continue
            summary = paired_summary(control, treatment)
            verdict, _ = judge_software(summary, min_effect=args.min_effect,
                                        metric="images_per_s", higher_is_better=True)
            changes.append(summary.ratio - 1)
            flagged += verdict == "regression"
            excluded += summary.ci_high < 1
        if changes:
            print(f"| {case} | {mode} | {planted:g}% | {len(changes)} | "
                  f"{statistics.median(changes):+.1%} | {flagged} of {len(changes)} | "
                  f"{excluded} of {len(changes)} |")

    print("\n## Time: a paired case against an ordinary one\n")
    ordinary = defaultdict(list)
    for r in rows:
        if r["kind"] == "ordinary" and r["status"] == "ok":
            ordinary[r["case"]].append(r["seconds"])
    paired = defaultdict(list)
    for r in rows:
        if r["kind"] == "paired_case":
            paired[(r["case"], r["mode"], r["pairs"])].append(r["seconds"])
    # a paired case of a night is its ordinary measurement plus its pairs
    print("| case | mode | pairs | its pairs (median s) | ordinary case (s) | "
          "paired case / ordinary case |")
    print("|---|---|---|---|---|---|")
    for (case, mode, pairs), seconds in sorted(paired.items()):
        base = statistics.median(ordinary[case]) if ordinary.get(case) else float("nan")
        took = statistics.median(seconds)
        print(f"| {case} | {mode} | {pairs} | {took:.1f} | {base:.1f} | "
              f"{(base + took) / base:.2f}x |")


def _unit_spread(n: int) -> list[float]:
    """n log ratios with mean 0 and sample sd 1: the paired MDE depends only on sd and n."""
    if n < 2:
        return [0.0] * n
    raw = [i - (n - 1) / 2 for i in range(n)]
    sd = statistics.stdev(raw)
    return [r / sd for r in raw]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    m = sub.add_parser("measure", help="measure nights for real (a quiet machine)")
    m.add_argument("--nights", type=int, default=10)
    m.add_argument("--pairs", type=int, default=4)
    m.add_argument("--levels", type=float, nargs="+", default=[3.0, 5.0, 10.0])
    m.add_argument("--modes", nargs="+", default=["interleaved", "duet"])
    m.add_argument("--no-ordinary", dest="ordinary", action="store_false",
                   help="skip the ordinary processes timed for the time cost")
    m.add_argument("--seed", type=int, default=2026)
    m.add_argument("--session")
    m.add_argument("--file", type=Path, default=DEFAULT_FILE)
    a = sub.add_parser("analyse", help="print the tables (no timing)")
    a.add_argument("--file", type=Path, default=DEFAULT_FILE)
    a.add_argument("--min-effect", type=float, default=0.05)
    a.add_argument("--draws", type=int, default=5_000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    {"measure": measure, "analyse": analyse}[args.action](args)


if __name__ == "__main__":
    main()
