"""How far each precision and memory layout moves the outputs, beside what it gains in speed.

On one device, each option (precision x layout) runs the parity images through the model
exactly as a case's output check does (segtasks.measure.outputs: one image per forward
pass) and is compared with the fp32 eager reference computed in the same process: max
|dp| of the probabilities, the share of mask pixels that differ, IoU against the
reference and against the true masks, and whether the default tolerance of its precision
(segtasks.plan.params.OUTPUT_TOLERANCES) admits it. Its speed-up is the forward throughput
at --batch-size against fp32 contiguous, alternating the options in --rounds short blocks
so that drift hits them alike. (The compile axis has its own script,
benchmarks/compile_cost.py.)

Parity on untrained weights says little: the script says which weights it ran.

    .venv/bin/python benchmarks/parity.py [--device cpu] [--images 12] [--batch-size 1]
        [--seconds 2] [--rounds 3] [--weights FILE] [--inputs DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext
from pathlib import Path

from _common import banner, demo_inputs_and_weights

from segtasks.measure import precision as math_mode
from segtasks.measure import provenance
from segtasks.measure.data import load_images
from segtasks.measure.model import autocast_dtype, file_sha256, load_model, preprocess
from segtasks.measure.outputs import model_outputs
from segtasks.measure.parity_set import parity_set
from segtasks.parity import metrics
from segtasks.parity.tolerance import Tolerance
from segtasks.plan.params import OUTPUT_TOLERANCES

PRECISIONS = {"cpu": ("fp32", "bf16"), "cuda": ("fp32", "tf32", "bf16", "fp16")}


def _set_layout(model, channels_last: bool) -> None:
    import torch

    model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def images_per_s(model, batch, device: str, precision: str, channels_last: bool,
                 seconds: float) -> float:
    """Forward passes of one batch for `seconds` (after one untimed pass)."""
    import torch

    math_mode.apply(precision)
    _set_layout(model, channels_last)
    x = batch.contiguous(memory_format=torch.channels_last) if channels_last else batch
    x = x.to(device)
    dtype = autocast_dtype(precision)
    autocast = torch.autocast(device, dtype=dtype) if dtype is not None else nullcontext()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with torch.inference_mode(), autocast:
        model(x)
        sync()
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model(x)
            count += 1
        sync()
        elapsed = time.perf_counter() - start
    return count * x.shape[0] / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=sorted(PRECISIONS))
    parser.add_argument("--images", type=int, default=12, help="parity images (last by name)")
    parser.add_argument("--batch-size", type=int, default=1, help="for the speed-up")
    parser.add_argument("--seconds", type=float, default=2.0, help="per option and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--inputs", type=Path)
    args = parser.parse_args()

    import torch

    inputs, weights = demo_inputs_and_weights()
    inputs, weights = args.inputs or inputs, args.weights or weights
    banner(f"output parity against fp32 eager, and speed-up, on {args.device}")
    origin = provenance.origin(weights, file_sha256(weights))
    record = provenance.read_record(weights) or {}
    print(f"# weights {weights} ({origin}"
          + (f", held-out IoU {record.get('held_out_iou'):.4f}" if "held_out_iou" in record
             else "") + ")")
    if origin != provenance.TRAINED:
        why = (provenance.UNTRAINED_WARNING if origin == provenance.SEEDED
               else "weights of unrecorded origin: parity says little unless they are trained")
        print(f"# {why}")

    image_set = load_images(inputs)
    images = parity_set(image_set, args.images)
    print(f"# {len(images.names)} parity images: {images.names[0]} .. {images.names[-1]}; "
          f"speed at batch size {args.batch_size}, {args.rounds} x {args.seconds:g} s each")
    model = load_model(weights, args.device)
    options = [(p, cl) for p in PRECISIONS[args.device] for cl in (False, True)]

    math_mode.apply("fp32")
    _set_layout(model, False)
    reference = model_outputs(model, images, device=args.device, precision_name="fp32",
                              channels_last=False)
    found = {}
    for prec, cl in options:
        math_mode.apply(prec)
        _set_layout(model, cl)
        found[(prec, cl)] = model_outputs(model, images, device=args.device,
                                          precision_name=prec, channels_last=cl)

    # fp32 with other kernels: on the CPU, one thread reduces in another order than several;
    # what the fp32 tolerance (and the golden outputs' drift) must allow after a software change
    other_kernels = None
    threads = torch.get_num_threads()
    if args.device == "cpu" and threads > 1:
        math_mode.apply("fp32")
        _set_layout(model, False)
        torch.set_num_threads(1)
        other_kernels = model_outputs(model, images, device="cpu", precision_name="fp32",
                                      channels_last=False)
        torch.set_num_threads(threads)

    batch = preprocess([image_set.images[i % len(image_set.images)]
                        for i in range(args.batch_size)])
    speeds: dict[tuple[str, bool], list[float]] = {o: [] for o in options}
    for _ in range(args.rounds):
        for option in options:
            speeds[option].append(images_per_s(model, batch, args.device, *option,
                                               seconds=args.seconds))
    base = statistics.median(speeds[("fp32", False)])

    print("| precision | layout | max abs dp | masks differing | IoU vs fp32 eager | "
          "IoU vs truth | within default tolerance | images/s | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = [(prec, "channels_last" if cl else "contiguous", outputs,
             statistics.median(speeds[(prec, cl)])) for (prec, cl), outputs in found.items()]
    if other_kernels is not None:
        rows.append(("fp32", "contiguous, 1 thread (other kernels)", other_kernels, None))
    for prec, layout, outputs, ips in rows:
        parity = metrics.parity(outputs.probs, outputs.masks, reference.probs,
                                reference.masks)
        truth = (f"{metrics.iou(outputs.masks, images.truth):.4f}"
                 if images.truth is not None else "-")
        tolerance = Tolerance(**OUTPUT_TOLERANCES[prec])
        ok = "yes" if tolerance.admits(parity.max_abs_diff, parity.mask_mismatch) else "NO"
        speed = f"{ips:.2f} | {ips / base:.2f}x" if ips is not None else "- | -"
        print(f"| {prec} | {layout} | {parity.max_abs_diff:.2g} | {parity.mask_mismatch:.4%} | "
              f"{parity.iou:.5f} | {truth} | {ok} | {speed} |")


if __name__ == "__main__":
    main()
