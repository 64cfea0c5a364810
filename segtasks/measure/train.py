"""`segbench train-demo`: train the mission's UNet++ (or the model a spec names:
segtasks.domain.model_spec) on the synthetic set, on the CPU, so that its masks mean
something and output parity can be judged on a model that segments.

Plain Adam on BCE + soft dice (each class its own sigmoid, as the benchmark's postprocess
reads them) at batch size 4 and the model's input size (the mission's 256x256), from a seed;
the last images by name are held out and the held-out IoU (at the model's input size; also
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

from segtasks.domain.model_spec import DEFAULT, ModelSpec, spec_or_default
from segtasks.measure.data import DataError, ImageSet, load_class_masks, load_images
from segtasks.measure.model import (
    THRESHOLD,
    ModelError,
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


def split(image_set: ImageSet, masks: list[np.ndarray | None], holdout: int,
          classes: int = 1) -> Split:
    """Images with a true mask, the last `holdout` by name held out (deterministic)."""
    usable = [i for i, m in enumerate(masks) if m is not None]
    if len(usable) <= holdout:
        which = "masks" if classes == 1 else f"a mask of each of {classes} classes"
        how = "`segbench data`" if classes == 1 else "`segbench data --model JSON`"
        raise DataError(
            f"training needs more than {holdout} images with {which} in "
            f"{image_set.folder}/masks, found {len(usable)} (make them with {how})")
    return Split(usable[:-holdout], usable[-holdout:])


def _targets(masks: list[np.ndarray], size: tuple[int, int] = DEFAULT.input_size) -> Any:
    """True masks (H, W) or (classes, H, W) as (images, classes, *size) (nearest: they
    stay 0 or 1)."""
    import torch
    from torch.nn import functional as F

    stacked = torch.stack([torch.from_numpy(m.astype(np.float32).reshape(-1, *m.shape[-2:]))
                           for m in masks])
    return F.interpolate(stacked, size=size, mode="nearest")


def _loss(logits: Any, target: Any, dice_weight: float) -> Any:
    """BCE + soft dice of each class apart (per-class sigmoids, not a softmax), averaged
    over the images and classes; for one class the loss it always was."""
    import torch
    from torch.nn import functional as F

    bce = F.binary_cross_entropy_with_logits(logits, target)
    probs = torch.sigmoid(logits)
    inter = (probs * target).sum(dim=(2, 3))
    dice = 1 - (2 * inter + 1) / (probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3)) + 1)
    return bce + dice_weight * dice.mean()


def held_out_iou(model: Any, images: list[np.ndarray], masks: list[np.ndarray],
                 spec: ModelSpec | None = None) -> tuple[float, float]:
    """IoU of the model's masks against the true ones on the held-out images (every class's
    pixels pooled): at the model's input size (against the true masks resized there by
    nearest neighbour: what the model can learn, and what training stops on), and at each
    image's own size through the benchmark's own pipeline (what a case's `truth_iou`
    measures; nearest upsampling of a smaller mask costs about a pixel of border, so it
    reads a little lower)."""
    import torch

    spec = spec_or_default(spec)
    model.eval()
    small: list[np.ndarray] = []
    full: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(images), 4):
            chunk = images[start:start + 4]
            logits = model(preprocess(chunk, spec))
            found = (torch.sigmoid(logits) >= THRESHOLD).numpy()
            small += list(found[:, 0] if spec.classes == 1 else found)
            full += postprocess(logits, [im.shape[:2] for im in chunk], spec.classes)
    model.train()
    targets = [t.numpy() > 0.5 for t in _targets(masks, spec.input_size)]
    if spec.classes == 1:
        targets = [t[0] for t in targets]
    return iou(small, targets), iou(full, masks)


def train_demo(inputs: Path, dest: Path, settings: TrainSettings | None = None,
               *, progress: TrainingProgress | None = None,
               spec: ModelSpec | None = None) -> dict[str, Any]:
    """Train the spec's model (None: the mission's), write the state dict to `dest` and its
    record beside it; returns the record. `progress` (if given) hears of each phase, step
    and evaluation."""
    if progress:
        progress.phase("loading torch")
    import torch

    settings = settings or TrainSettings()
    started = time.perf_counter()
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    if progress:
        progress.phase(f"loading the images in {inputs}")
    model_spec = spec_or_default(spec)
    image_set = load_images(inputs, model_spec.in_channels)
    masks = load_class_masks(image_set, model_spec.classes)
    parts = split(image_set, masks, settings.holdout, model_spec.classes)
    train_x = preprocess([image_set.images[i] for i in parts.train], model_spec)
    train_y = _targets([masks[i] for i in parts.train],  # type: ignore[misc]
                       model_spec.input_size)
    held_images = [image_set.images[i] for i in parts.held_out]
    held_masks: list[np.ndarray] = [masks[i] for i in parts.held_out]  # type: ignore[misc]

    if progress:
        progress.phase("building the model and running the first step")
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    model = build_model(spec).train()
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
        logits = model(x)
        if logits.shape != y.shape:  # a factory's model may not give what its spec says
            raise ModelError(f"the model gives outputs of shape {tuple(logits.shape[1:])} "
                             f"for the spec's {tuple(y.shape[1:])} (classes, height, width)")
        loss = _loss(logits, y, settings.dice_weight)
        loss.backward()
        optimizer.step()
        step += 1
        loss_value = float(loss.item())
        if progress:
            progress.stepped(step, loss_value)
        out_of_time = time.perf_counter() - started >= settings.max_seconds
        if step % settings.eval_every == 0 or step == settings.max_steps or out_of_time:
            held_iou, full_iou = held_out_iou(model, held_images, held_masks, spec)
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
    sha256 = file_sha256(dest)
    record: dict[str, Any] = {
        "origin": TRAINED, "sha256": sha256, "weights": dest.name,
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
    if spec is not None:  # the weights of a named model say which (the default's as always)
        record["model"] = spec.to_dict()
        record["model_identity"] = spec.identity(sha256)
    write_record(dest, record)
    log.info("trained %s in %d steps (%s): held-out IoU %.4f", dest, step, stop, held_iou)
    return record
