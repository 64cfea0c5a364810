"""Does the harness slow down what it measures?

Runs the harness's batch path (phase marks, autocast context, postprocess) and a bare
`torch.inference_mode()` forward loop on the same model and the same preprocessed
batches, alternating in blocks in one process so that drift hits both alike.
Prints the harness's forward throughput as a fraction of the bare loop's.
Target: >= 0.98.

With `--telemetry`, each harness block runs inside the Watch that watches a case's timed
loop in the nightly (segtasks.measure.telemetry: the CPU counters read at its ends, and on
a GPU the NVML sampling thread and the process list every 2 s while it runs), so the ratio
says what watching costs the measured work. Target then: >= 0.99.

    .venv/bin/python benchmarks/overhead.py [--device cpu] [--batch-sizes 1,4] [--blocks 10]
        [--telemetry]
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import numpy as np
from _common import banner, demo_inputs_and_weights, images

from segtasks.measure.case_runner import watch_for
from segtasks.measure.environment import gpus
from segtasks.measure.model import load_model, preprocess
from segtasks.measure.protocol import Workload
from segtasks.plan.case import Case

TARGET = 0.98
TARGET_WITH_TELEMETRY = 0.99


def bare_forward_ms(model, x, device: str) -> float:
    import torch

    x = x.to(device)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    model(x)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3


def compare(device: str, batch_size: int, blocks: int, per_block: int, imgs: list, weights,
            telemetry: bool = False) -> tuple[float, float, float]:
    import torch

    model = load_model(weights, device)
    case = Case(device=device, batch_size=batch_size, seed_images=batch_size, warmup_batches=0)
    work = Workload(model, case, imgs)
    devices = gpus() if telemetry else []
    batches = [work.batch(i) for i in range(per_block)]
    tensors = [preprocess(b) for b in batches]
    harness, harness_latency, bare = [], [], []
    with torch.inference_mode():
        for i in range(3):  # warm both paths
            work.run(batches[i % per_block])
            bare_forward_ms(model, tensors[i % per_block], device)
        for block in range(blocks):
            order = ("harness", "bare") if block % 2 == 0 else ("bare", "harness")
            for side in order:
                # a fresh Watch per block, as each case's timed loop gets one
                watch = (watch_for(case, devices, None)[0]
                         if telemetry and side == "harness" else nullcontext())
                with watch:
                    for b, x in zip(batches, tensors, strict=True):
                        if side == "harness":
                            _, h2d, forward, post = work.run(b)
                            harness.append(forward)
                            harness_latency.append(h2d + forward + post)
                        else:
                            bare.append(bare_forward_ms(model, x, device))
    return float(np.median(harness)), float(np.median(harness_latency)), float(np.median(bare))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--per-block", type=int, default=5)
    parser.add_argument("--telemetry", action="store_true",
                        help="watch the harness blocks as the nightly watches a timed loop")
    args = parser.parse_args()
    banner("harness overhead: harness forward vs bare inference_mode forward, same batches"
           + (", telemetry on" if args.telemetry else ""))
    target = TARGET_WITH_TELEMETRY if args.telemetry else TARGET
    inputs, weights = demo_inputs_and_weights()
    imgs = images(inputs)
    print("| device | batch | bare forward p50 (ms) | harness forward p50 (ms) | "
          "harness latency p50 (ms) | forward throughput ratio | target |")
    print("|---|---|---|---|---|---|---|")
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        forward, latency, bare = compare(args.device, bs, args.blocks, args.per_block, imgs,
                                         weights, telemetry=args.telemetry)
        ratio = bare / forward
        verdict = "met" if ratio >= target else "MISSED"
        print(f"| {args.device} | {bs} | {bare:.2f} | {forward:.2f} | {latency:.2f} | "
              f"{ratio:.3f} | >= {target} {verdict} |")


if __name__ == "__main__":
    main()
