"""What torch.compile costs and what it buys, per batch size: side by side in one run.

Each case runs as the nightly runs it (its own process, segtasks.launch), eager first, then
each compile mode: the compile time (the first call, which compiles and runs one batch), the
first compiled call, the steady-state median batch latency and images/s, the speed-up over
eager at the same batch size, and recompilations.

The kernel cache decides what "compile time" means: `--cache cold` gives every case a fresh,
empty cache folder (what the first night after a torch upgrade pays), `--cache warm` runs
each compiled case twice on one shared folder and reports the second (what every later
night pays), and `--cache shared` uses the project's own var/compile-cache as the nightly
does.

    .venv/bin/python benchmarks/compile_cost.py [--device cpu] [--batch-sizes 1,4]
        [--modes default,max-autotune] [--cache cold|warm|shared] [--max-seconds 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from _common import banner, demo_inputs_and_weights

from segtasks.launch.isolated import run_case_isolated
from segtasks.plan.case import COMPILE_MODES, Case
from segtasks.result import CaseResult

# The nightly's default max_interference: above it, a figure is not one to quote.
BUSY = 0.10


def _case(device: str, batch_size: int, mode: str, args: argparse.Namespace) -> Case:
    return Case(device=device, batch_size=batch_size, compile=mode,
                seed_images=batch_size, warmup_batches=3, warmup_seconds=1.0,
                min_batches=10, min_seconds=args.min_seconds, max_seconds=args.max_seconds,
                end_to_end_seconds=0, end_to_end_passes=1,
                max_interference=1, max_steal=1)  # not re-measured: a busy machine is noted


def _measure(case: Case, inputs: Path, weights: Path, cache: Path | None) -> CaseResult:
    if cache is not None:
        os.environ["SEGBENCH_COMPILE_CACHE"] = str(cache)  # segtasks.paths.compile_cache_dir
    return run_case_isolated(case, inputs, weights)


def _row(r: CaseResult, eager: CaseResult | None, note: str) -> list[str]:
    case = r.case
    if r.status != "ok":
        return [str(case.batch_size), case.compile, r.status, r.reason or "", "", "", "", "", ""]
    comp = r.compilation
    speedup = (f"{r.throughput.images_per_s / eager.throughput.images_per_s:.2f}x"
               if eager is not None and eager.status == "ok" else "-")
    return [str(case.batch_size), case.compile,
            f"{comp.compile_seconds:.1f}" if comp else "-",
            f"{comp.first_call_seconds * 1e3:.0f}" if comp else "-",
            f"{r.latency.p50_ms:.1f}", f"{r.throughput.images_per_s:.2f}", speedup,
            str(comp.recompiles) if comp and comp.recompiles is not None else "-", note]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--modes", default="default,max-autotune",
                        help=f"compile modes besides eager: {', '.join(COMPILE_MODES[1:])}")
    parser.add_argument("--cache", default="cold", choices=["cold", "warm", "shared"])
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    unknown = sorted(set(modes) - set(COMPILE_MODES[1:]))
    if unknown:
        parser.error(f"unknown compile mode {', '.join(unknown)}")
    banner(f"torch.compile cost and speed-up on {args.device}, cache {args.cache}")
    inputs, weights = demo_inputs_and_weights()
    scratch = Path(tempfile.mkdtemp(prefix="segbench-compile-cost-"))
    header = ["batch size", "mode", "compile, first call (s)", "first compiled call (ms)",
              "steady batch median (ms)", "images/s", "speed-up over eager", "recompiles",
              "note"]
    rows = []
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        eager = _measure(_case(args.device, batch_size, "none", args), inputs, weights, None)
        busy = eager.validity.interference if eager.validity else None
        rows.append(_row(eager, eager, "eager" + (
            f"; busy machine: other processes took {busy:.0%} of the cores"
            if busy is not None and busy > BUSY else "")))
        for mode in modes:
            case = _case(args.device, batch_size, mode, args)
            if args.cache == "shared":
                result, note = _measure(case, inputs, weights, None), "var/compile-cache"
            elif args.cache == "cold":
                folder = scratch / f"{mode}-bs{batch_size}"
                result, note = _measure(case, inputs, weights, folder), "empty cache"
            else:
                folder = scratch / "warm"
                _measure(case, inputs, weights, folder)  # fills the cache
                result, note = _measure(case, inputs, weights, folder), "second run, cached"
            busy = result.validity.interference if result.validity else None
            if busy is not None and busy > BUSY:
                note += f"; busy machine: other processes took {busy:.0%} of the cores"
            rows.append(_row(result, eager, note))
            print(" | ".join(rows[-1]), flush=True)
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
