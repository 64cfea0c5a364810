"""`segbench train-demo`: train the mission's UNet++ on the synthetic set, on the CPU, so that
its masks mean something and output parity can be judged on a model that segments.

Plain Adam on BCE + soft dice at batch size 4 and the mission's 256x256 input, from a seed;
the last images by name are held out and the held-out IoU (at the model's 256x256; also
recorded at full size through the real pipeline) is checked every few steps. Training
stops at the target IoU, or at the step or time cap, whichever comes first, and the record
beside the weights says which.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from segtasks.measure.data import DataError, ImageSet, load_images, load_masks
from segtasks.measure.model import (
    THRESHOLD,
    build_model,
    file_sha256,
    postprocess,
    preprocess,
)
from segtasks.measure.provenance import TRAINED, write_record
from segtasks.measure.train_progress import TrainingProgress
from segtasks.measure.train_settings import TrainSettings
from segtasks.parity.metrics import iou

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    train: list[int]
    held_out: list[int]


def split(image_set: ImageSet, masks: list[np.ndarray | None], holdout: int) -> Split:
    """Images with a true mask, the last `holdout` by name held out (deterministic)."""
    usable = [i for i, m in enumerate(masks) if m is not None]
    if len(usable) <= holdout:
        raise DataError(
            f"training needs more than {holdout} images with masks in {image_set.folder}/masks, "
            f"found {len(usable)} (make them with `segbench data`)")
    return Split(usable[:-holdout], usable[-holdout:])


def _targets(masks: list[np.ndarray]) -> Any:
    """True masks at the model's input size (nearest: they stay 0 or 1)."""
    import torch
    from torch.nn import functional as F

    stacked = torch.stack([torch.from_numpy(m.astype(np.float32))[None] for m in masks])
    return F.interpolate(stacked, size=(256, 256), mode="nearest")


def _loss(logits: Any, target: Any, dice_weight: float) -> Any:
    import torch
    from torch.nn import functional as F

    bce = F.binary_cross_entropy_with_logits(logits, target)
    probs = torch.sigmoid(logits)
    inter = (probs * target).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (probs.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    return bce + dice_weight * dice.mean()


def held_out_iou(model: Any, images: list[np.ndarray], masks: list[np.ndarray]
                 ) -> tuple[float, float]:
    """IoU of the model's masks against the true ones on the held-out images: at the
    model's 256x256 (against the true masks resized there by nearest neighbour: what the
    model can learn, and what training stops on), and at each image's own size through the
    benchmark's own pipeline (what a case's `truth_iou` measures; nearest upsampling of a
    256x256 mask costs about a pixel of border, so it reads a little lower)."""
    import torch

    model.eval()
    small: list[np.ndarray] = []
    full: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(images), 4):
            chunk = images[start:start + 4]
            logits = model(preprocess(chunk))
            small += list((torch.sigmoid(logits) >= THRESHOLD)[:, 0].numpy())
            full += postprocess(logits, [im.shape[:2] for im in chunk])
    model.train()
    targets = [t[0].numpy() > 0.5 for t in _targets(masks)]
    return iou(small, targets), iou(full, masks)


def train_demo(inputs: Path, dest: Path, settings: TrainSettings | None = None,
               *, progress: TrainingProgress | None = None) -> dict[str, Any]:
    """Train, write the state dict to `dest` and its record beside it; returns the record.
    `progress` (if given) hears of each phase, step and evaluation."""
    if progress:
        progress.phase("loading torch")
    import torch

    settings = settings or TrainSettings()
    started = time.perf_counter()
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    if progress:
        progress.phase(f"loading the images in {inputs}")
    image_set = load_images(inputs)
    masks = load_masks(image_set)
    parts = split(image_set, masks, settings.holdout)
    train_x = preprocess([image_set.images[i] for i in parts.train])
    train_y = _targets([masks[i] for i in parts.train])  # type: ignore[misc]
    held_images = [image_set.images[i] for i in parts.held_out]
    held_masks: list[np.ndarray] = [masks[i] for i in parts.held_out]  # type: ignore[misc]

    if progress:
        progress.phase("building the model and running the first step")
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    model = build_model().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    step, loss_value, held_iou, full_iou, stop = 0, float("nan"), 0.0, 0.0, "max_steps"
    while step < settings.max_steps:
        batch = torch.randint(len(parts.train), (settings.batch_size,), generator=generator)
        x, y = train_x[batch], train_y[batch]
        if torch.rand(1, generator=generator).item() < 0.5:  # flips: cheap augmentation
            x, y = x.flip(-1), y.flip(-1)
        if torch.rand(1, generator=generator).item() < 0.5:
            x, y = x.flip(-2), y.flip(-2)
        optimizer.zero_grad(set_to_none=True)
        loss = _loss(model(x), y, settings.dice_weight)
        loss.backward()
        optimizer.step()
        step += 1
        loss_value = float(loss.item())
        if progress:
            progress.stepped(step, loss_value)
        out_of_time = time.perf_counter() - started >= settings.max_seconds
        if step % settings.eval_every == 0 or step == settings.max_steps or out_of_time:
            held_iou, full_iou = held_out_iou(model, held_images, held_masks)
            if progress:
                progress.evaluated(step, loss_value, held_iou, full_iou)
            if held_iou >= settings.target_iou:
                stop = "target_iou"
                break
        if out_of_time:
            stop = "max_seconds"
            break

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    torch.save(model.eval().state_dict(), tmp)
    tmp.replace(dest)  # a reader never sees half a file
    record = {
        "origin": TRAINED, "sha256": file_sha256(dest), "weights": dest.name,
        "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 1),
        "steps": step, "stopped_because": stop, "final_loss": loss_value,
        "held_out_iou": held_iou, "held_out_iou_full_size": full_iou,
        "target_iou": settings.target_iou,
        "train_images": len(parts.train), "held_out_images": len(parts.held_out),
        "held_out_names": [image_set.names[i] for i in parts.held_out],
        "dataset_fingerprint": image_set.fingerprint, "inputs": str(image_set.folder),
        "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "settings": settings.to_dict(),
    }
    write_record(dest, record)
    log.info("trained %s in %d steps (%s): held-out IoU %.4f", dest, step, stop, held_iou)
    return record
