"""Images/s of each runtime (ONNX Runtime, OpenVINO) against PyTorch eager, side by side.

Each (runtime, batch size) is a real case measured as the night measures it: a fresh
process (segtasks.launch.run_case_isolated) under the full protocol (warm-up, stopping
rule, validity), its outputs checked against PyTorch fp32 eager on the parity images. The
runtimes are interleaved in --rounds rounds (torch, onnxruntime, openvino, torch, ...; the
order rotates each round) so that drift on the machine hits them alike; each figure is the
median over rounds. The export is made once (cached under var/exports; its time is when it
was made) before the first round, so that no round pays for it.

Prints, per batch size: images/s of each runtime, its ratio to eager, the parity (max abs
difference of probabilities, share of mask pixels differing), export time and file size,
and how many of its processes were disturbed.

    .venv/bin/python benchmarks/runtimes.py [--device cpu] [--batch-sizes 1,4] [--rounds 3]
        [--seconds 5] [--runtimes torch,onnxruntime,openvino] [--weights FILE] [--inputs DIR]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from _common import banner, demo_inputs_and_weights

from segtasks.launch.isolated import run_case_isolated
from segtasks.measure.model import file_sha256
from segtasks.plan.case import RUNTIMES, Case
from segtasks.result import CaseResult


def case_of(runtime: str, device: str, batch_size: int, seconds: float) -> Case:
    return Case(device=device, batch_size=batch_size, runtime=runtime,
                min_seconds=seconds, max_seconds=max(seconds * 3, seconds + 1),
                end_to_end_passes=1, end_to_end_seconds=0)


def _prepare_exports(runtimes: list[str], inputs: Path, weights: Path) -> None:
    """Make each runtime's export once, before any round is timed."""
    from segtasks.measure.data import load_images
    from segtasks.measure.model import preprocess
    from segtasks.runtimes import available, export

    shape = tuple(preprocess(load_images(inputs).images[:1]).shape)
    for runtime in runtimes:
        if runtime == "torch" or available.not_installed(runtime):
            continue
        ready = export.ensure(runtime, weights, file_sha256(weights), shape)
        print(f"# {runtime}: export {'cached' if ready.cached else 'made'} "
              f"({ready.seconds:.1f} s when made, {ready.stored.bytes / 2**20:.1f} MiB)")


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="minimum timed seconds of each case (min_seconds)")
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--inputs", type=Path)
    args = parser.parse_args()
    inputs, weights = demo_inputs_and_weights()
    inputs, weights = args.inputs or inputs, args.weights or weights
    runtimes = [r for r in args.runtimes.split(",") if r]
    sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    banner("runtimes against PyTorch eager")
    print(f"# device {args.device}, batch sizes {sizes}, runtimes {runtimes}, "
          f"{args.rounds} rounds, weights {weights} ({file_sha256(weights)[:12]})")
    _prepare_exports(runtimes, inputs, weights)

    found: dict[tuple[str, int], list[CaseResult]] = {}
    for round_ in range(args.rounds):
        order = runtimes[round_ % len(runtimes):] + runtimes[:round_ % len(runtimes)]
        for bs in sizes:
            for runtime in order:
                done = run_case_isolated(case_of(runtime, args.device, bs, args.seconds),
                                         inputs, weights)
                found.setdefault((runtime, bs), []).append(done)
                ips = done.throughput.images_per_s if done.throughput else None
                print(f"# round {round_ + 1} bs{bs} {runtime}: {done.status} "
                      f"{_fmt(ips, '.2f')} images/s" + (f" ({done.reason})"
                                                       if done.reason else ""))

    print("\n| batch | runtime | images/s (median) | × eager | max abs dp | masks differing "
          "| export (s) | export (MiB) | disturbed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for bs in sizes:
        eager = _median([r.throughput.images_per_s for r in found.get(("torch", bs), [])
                         if r.status == "ok" and r.throughput])
        for runtime in runtimes:
            results = found.get((runtime, bs), [])
            ok = [r for r in results if r.status == "ok" and r.throughput]
            ips = _median([r.throughput.images_per_s for r in ok])
            checked = [r.outputs for r in ok if r.outputs is not None]
            dp = max((c.parity_max_abs_diff for c in checked), default=None)
            masks = max((c.parity_mask_mismatch for c in checked), default=None)
            export = next((r.export for r in results if r.export is not None), None)
            mib = export.export_bytes / 2**20 if export and export.export_bytes else None
            status = "" if ok else f" ({results[0].status}: {results[0].reason})" \
                if results else ""
            print(f"| {bs} | {runtime}{status} | {_fmt(ips, '.2f')} | "
                  f"{_fmt(ips / eager if ips and eager else None, '.2f')} | "
                  f"{_fmt(dp, '.2e')} | {_fmt(masks, '.4%')} | "
                  f"{_fmt(export.export_seconds if export else None, '.1f')} | "
                  f"{_fmt(mib, '.1f')} | "
                  f"{sum(1 for r in ok if r.disturbed)}/{len(results)} |")


if __name__ == "__main__":
    main()
