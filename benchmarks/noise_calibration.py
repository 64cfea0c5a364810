"""Calibrate detector_eval's noise model on this machine: how much one case's figure moves
within a process, from process to process, and from night to night.

Measuring (a few short processes; run it once per night, e.g. from cron, on a quiet
machine, since every figure it records is a timing):

    .venv/bin/python benchmarks/noise_calibration.py measure [--processes 4] [--case cpu-bs1-t1]

appends one line per process to var/noise_calibration.jsonl: the session (UTC date, or
--session), the process index, images/s, the 95% interval of its median and the
within-process CV of batch latencies. Each process is started like a nightly bench task's
(segtasks.launch, the same protocol, fresh process, validity checks on; disturbed ones
are recorded and left out of the estimates).

Estimating (no timing):

    .venv/bin/python benchmarks/noise_calibration.py estimate [--file ...]
    .venv/bin/python benchmarks/noise_calibration.py estimate --db URL [--case-key K]

- within-process CV: the median of the processes' batch-latency CVs;
- process-to-process sd: the sd of images/s between processes of one session (pooled over
  sessions), less what each process's own median noise explains;
- night-to-night sd: the sd of session means, less what the process noise explains (or,
  with --db, segtasks.judge.decide.series_noise over each stored series: the noise the
  judge itself uses).
It prints them as detector_eval's arguments: --cvs CV --drift (night sd / CV)
--process-ratio (process sd / CV).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

from segtasks import paths

DEFAULT_FILE = paths.var_dir() / "noise_calibration.jsonl"


def measure(args: argparse.Namespace) -> None:
    from _common import demo_inputs_and_weights

    from segtasks import launch
    from segtasks.plan import validate

    device, bs, threads = args.case.split("-")
    conf = {"devices": [device], "batch_sizes": [int(bs.removeprefix("bs"))],
            "cpu_threads": [int(threads.removeprefix("t"))] if device == "cpu" else [],
            "min_seconds": args.seconds, "max_seconds": 4 * args.seconds,
            "end_to_end_passes": 1, "end_to_end_seconds": 0}
    [case] = validate(conf).cases
    inputs, weights = demo_inputs_and_weights()
    session = args.session or f"{datetime.now(UTC):%Y-%m-%d}"
    args.file.parent.mkdir(parents=True, exist_ok=True)
    with args.file.open("a") as out:
        for process in range(args.processes):
            result = launch.run_case_isolated(case, inputs, weights)
            if result.status != "ok" or result.latency is None or result.throughput is None:
                print(f"process {process}: {result.status} ({result.reason})", file=sys.stderr)
                continue
            line = {"session": session, "case": case.key, "process": process,
                    "at": datetime.now(UTC).isoformat(),
                    "images_per_s": result.throughput.images_per_s,
                    "ci_rel": result.latency.ci_rel, "cv": result.latency.cv,
                    "disturbed": result.disturbed}
            out.write(json.dumps(line) + "\n")
            print(json.dumps(line))


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) >= 2 else 0.0


def estimate_file(path: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if not r["disturbed"] and r["images_per_s"]]
    sessions: dict[str, list[dict]] = {}
    for r in rows:
        sessions.setdefault(r["session"], []).append(r)
    cv = statistics.median(r["cv"] for r in rows)
    # within a session: relative spread between processes, less their own median noise
    between, own = [], []
    for group in sessions.values():
        if len(group) >= 2:
            mean = statistics.fmean(r["images_per_s"] for r in group)
            between.append(_sd([r["images_per_s"] / mean for r in group]) ** 2)
            own.append(statistics.fmean((r["ci_rel"] / 1.96) ** 2 for r in group))
    process_var = max(statistics.fmean(between) - statistics.fmean(own), 0.0) if between else 0.0
    means = [statistics.fmean(r["images_per_s"] for r in g) for g in sessions.values()]
    per_session = statistics.fmean(len(g) for g in sessions.values())
    night_var = 0.0
    if len(means) >= 2:
        centre = statistics.fmean(means)
        night_var = max(_sd([m / centre for m in means]) ** 2
                        - (process_var + statistics.fmean(own or [0.0])) / per_session, 0.0)
    return {"sessions": len(sessions), "processes": len(rows), "cv": cv,
            "process_sd": math.sqrt(process_var), "night_sd": math.sqrt(night_var)}


def estimate_db(url: str, case_key: str | None) -> dict[str, float]:
    from sqlalchemy import text

    from segtasks import store
    from segtasks.judge.decide import series_noise

    query = ("SELECT case_key, hardware_key, images_per_s, latency_cv FROM v_results "
             "WHERE status = 'ok' AND valid IS NOT FALSE "
             + ("AND case_key = :key " if case_key else "") + "ORDER BY started_at")
    with store.connect(url).connect() as conn:
        rows = conn.execute(text(query), {"key": case_key}).all()
    series: dict[tuple, list] = {}
    for r in rows:
        series.setdefault((r.case_key, r.hardware_key), []).append(r)
    noise = [series_noise([r.images_per_s for r in s]) / statistics.median(
        r.images_per_s for r in s) for s in series.values() if len(s) >= 3]
    cvs = [r.latency_cv for r in rows if r.latency_cv is not None]
    return {"series": len(noise), "cv": statistics.median(cvs) if cvs else float("nan"),
            "night_sd": statistics.median(noise) if noise else float("nan"),
            "process_sd": float("nan")}


def estimate(args: argparse.Namespace) -> None:
    found = estimate_db(args.db, args.case_key) if args.db else estimate_file(args.file)
    print(json.dumps(found, indent=2))
    cv = found["cv"]
    if cv and cv == cv:
        drift = found["night_sd"] / cv
        ratio = found["process_sd"] / cv if found["process_sd"] == found["process_sd"] else 0.25
        print(f"detector_eval.py --cvs {cv:.3f} --drift {drift:.2f} --process-ratio {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("measure", help="time a few short processes (a timing: quiet machine)")
    p.add_argument("--processes", type=int, default=4)
    p.add_argument("--case", default="cpu-bs1-t1", help="device-bsN-tT")
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per process")
    p.add_argument("--session", help="label of this night (default: today's UTC date)")
    p.add_argument("--file", type=Path, default=DEFAULT_FILE)
    p.set_defaults(func=measure)
    p = sub.add_parser("estimate", help="the model's parameters from what was measured")
    p.add_argument("--file", type=Path, default=DEFAULT_FILE)
    p.add_argument("--db", help="estimate the night-to-night noise from stored nights instead")
    p.add_argument("--case-key", help="with --db: only this case key")
    p.set_defaults(func=estimate)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
