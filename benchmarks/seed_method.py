"""How far off is the blog post's figure? Its method beside ours, on the same inputs.

The seed (the blog post this project started from) timed, with time.time(), a loop over
its whole image set in batches: per-image ToTensor + Resize(256, 256), torch.stack, the
copy to the device, the forward pass, and then each output on its own: sigmoid,
threshold at 0.5, resized back to its image's size, copied to the host. No warm-up, no
torch.inference_mode() (autograd records the forward pass), no synchronisation beyond
what copying each mask to the host forces, one run per batch size, in a fresh process.
`seed_worker` below does exactly that. It is set beside segbench's own figures for the
same case: the end-to-end pass (the seed-style columns: preprocessing included, after
warm-up, under inference mode, at least 2 s, median of 3 passes) and the inference
figure (median batch latency of the timed loop, preprocessing excluded).

Differences from the blog that remain:
- the images: the blog's 5,000 were its own dataset; here the demo set (synthetic 512x512
  grayscale) or SEGBENCH_INPUTS is cycled through to make up `--images`;
- the weights: a seeded, untrained state dict unless weights/ holds trained ones (the
  timing does not depend on the values);
- the machine and the software versions (printed in the header);
- each side is repeated `--repeats` times, alternating, and the median is printed with
  its range, where the blog reported a single run;
- the images are decoded before the clock starts on both sides (the blog's loop did not
  say where decoding happened; segbench never times it).

    .venv/bin/python benchmarks/seed_method.py [--device cpu] [--batch-sizes 1,4]
        [--images N (default: the blog's 5000 on CUDA, 256 on the CPU)] [--repeats 3]
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
from segtasks.plan import validate

BLOG_IMAGES = 5000
CPU_IMAGES = 256  # 5,000 images at ~0.15 s each is 12 minutes per run on a 2-core CPU


def seed_worker(device: str, batch_size: int, n_images: int, inputs: Path, weights: Path
                ) -> float:
    """The seed's loop, as the blog post describes it; returns seconds per image."""
    import torch
    from torch.nn import functional as F

    from segtasks.measure.model import THRESHOLD, load_model, preprocess

    imgs = images(inputs)
    model = load_model(weights, device)
    n_batches = math.ceil(n_images / batch_size)
    start = time.time()
    for b in range(n_batches):
        batch = [imgs[(b * batch_size + i) % len(imgs)] for i in range(batch_size)]
        x = preprocess(batch).to(device)
        outputs = model(x)
        for output, image in zip(outputs, batch, strict=True):  # one output at a time
            prob = torch.sigmoid(output)
            resized = F.interpolate(prob[None], size=image.shape[:2], mode="nearest")
            _mask = (resized[0, 0] >= THRESHOLD).cpu().numpy()
    elapsed = time.time() - start
    return elapsed / (n_batches * batch_size)


def run_seed(device: str, batch_size: int, n_images: int, inputs: Path, weights: Path) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--seed-worker", device, str(batch_size), str(n_images),
         str(inputs), str(weights)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds_per_image"]


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--seed-worker":
        device, bs, n, inputs, weights = sys.argv[2:7]
        per_image = seed_worker(device, int(bs), int(n), Path(inputs), Path(weights))
        print(json.dumps({"seconds_per_image": per_image}))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--images", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--conf", default="{}",
                        help="more run parameters for our side, as JSON")
    args = parser.parse_args()
    n_images = args.images or (BLOG_IMAGES if args.device == "cuda" else CPU_IMAGES)
    banner("the seed's method beside segbench's, same inputs, fresh process each")
    inputs, weights = demo_inputs_and_weights()
    print(f"# {n_images} images per seed run; {args.repeats} runs per side, alternating; "
          "median (min-max) of ms per image")
    print("| device | batch | seed ms/img | ours end-to-end ms/img | ours inference ms/img | "
          "seed / ours end-to-end | seed / ours inference |")
    print("|---|---|---|---|---|---|---|")
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        conf = {"devices": [args.device], "batch_sizes": [bs], "n_images": n_images,
                **json.loads(args.conf)}
        case = validate(conf).cases[0]
        seed, e2e, inference = [], [], []
        for repeat in range(args.repeats):
            for side in (("seed", "ours") if repeat % 2 == 0 else ("ours", "seed")):
                if side == "seed":
                    seed.append(run_seed(args.device, bs, n_images, inputs, weights) * 1e3)
                    continue
                result = run_case_isolated(case, inputs, weights)
                if result.status != "ok":
                    raise SystemExit(f"our case failed: {result.status}: {result.reason}")
                speed = result.throughput
                e2e.append(speed.end_to_end_s * 1e3 / speed.end_to_end_images)
                inference.append(speed.ms_per_image)
        s, e, i = (statistics.median(v) for v in (seed, e2e, inference))
        print(f"| {args.device} | {bs} | {_summary(seed)} | {_summary(e2e)} | "
              f"{_summary(inference)} | {s / e:.2f}x | {s / i:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
