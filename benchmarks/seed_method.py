"""How far off is the blog post's figure? Its method beside ours, on the same inputs.

The seed timed, with time.time(): per-image ToTensor + Resize, torch.stack, the forward
pass and the mask, over all N images, with no warm-up, no torch.inference_mode() and no
synchronisation. Each side runs in a fresh process (the seed's cold start is part of
its figure), alternating seed/ours to share the machine's drift.

    .venv/bin/python benchmarks/seed_method.py [--device cpu] [--batch-sizes 1,4] [--images 32]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import banner, demo_inputs_and_weights, images

from segtasks.launch import run_case_isolated
from segtasks.plan.case import Case


def seed_worker(device: str, batch_size: int, n_images: int, inputs: Path, weights: Path
                ) -> float:
    """The seed's loop, as the blog post describes it; returns seconds for n_images."""
    import torch

    from segtasks.measure.model import load_model, postprocess, preprocess

    imgs = images(inputs)
    model = load_model(weights, device)
    n_batches = math.ceil(n_images / batch_size)
    start = time.time()
    for b in range(n_batches):
        batch = [imgs[(b * batch_size + i) % len(imgs)] for i in range(batch_size)]
        x = preprocess(batch).to(device)
        postprocess(model(x), [img.shape[:2] for img in batch])
    elapsed = time.time() - start
    del torch
    return elapsed / (n_batches * batch_size)


def run_seed(device: str, batch_size: int, n_images: int, inputs: Path, weights: Path) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--seed-worker", device, str(batch_size), str(n_images),
         str(inputs), str(weights)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds_per_image"]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--seed-worker":
        device, bs, n, inputs, weights = sys.argv[2:7]
        per_image = seed_worker(device, int(bs), int(n), Path(inputs), Path(weights))
        print(json.dumps({"seconds_per_image": per_image}))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    banner("the seed's method beside segbench's, same inputs, fresh process each")
    inputs, weights = demo_inputs_and_weights()
    print("| device | batch | seed ms/img | ours end-to-end ms/img | ours inference ms/img | "
          "seed / ours end-to-end | seed / ours inference |")
    print("|---|---|---|---|---|---|---|")
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        seed, e2e, inference = [], [], []
        case = Case(device=args.device, batch_size=bs, seed_images=args.images, warmup_batches=3)
        for repeat in range(args.repeats):
            for side in (("seed", "ours") if repeat % 2 == 0 else ("ours", "seed")):
                if side == "seed":
                    seed.append(run_seed(args.device, bs, args.images, inputs, weights) * 1e3)
                    continue
                result = run_case_isolated(case, inputs, weights)
                if result.status != "ok":
                    raise SystemExit(f"our case failed: {result.status}: {result.reason}")
                speed = result.throughput
                e2e.append(speed.end_to_end_s * 1e3 / speed.end_to_end_images)
                inference.append(speed.ms_per_image)
        s, e, i = (statistics.median(v) for v in (seed, e2e, inference))
        print(f"| {args.device} | {bs} | {s:.1f} | {e:.1f} | {i:.1f} | {s / e:.2f}x | "
              f"{s / i:.2f}x |")


if __name__ == "__main__":
    main()
