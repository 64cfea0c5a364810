"""A case's outputs on the parity images, in the case's own configuration and as the fp32
eager reference computed on the same device in the same process, and how far apart they
are. Run after the timed loop, one image per forward pass (batch size 1: no case's peak
memory grows because of it), so the check costs a few forward passes and times nothing.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np

from segtasks.domain.model_spec import ModelSpec, spec_or_default
from segtasks.measure import planted, precision
from segtasks.measure.model import autocast_dtype, postprocess, preprocess
from segtasks.measure.parity_set import ParitySet
from segtasks.parity import metrics
from segtasks.parity.outputs import Outputs, encode
from segtasks.plan.case import Case
from segtasks.result import OutputCheck


def model_outputs(model: Any, images: ParitySet, *, device: str, precision_name: str,
                  channels_last: bool, logit_shift: float = 0.0,
                  spec: ModelSpec | None = None) -> Outputs:
    """Probabilities and masks of each parity image, one forward pass each: (H, W) per
    image for one class, (classes, H, W) for several."""
    import torch

    dtype = autocast_dtype(precision_name)
    probs: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    with torch.inference_mode():
        for image in images.images:
            x = preprocess([image], spec)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            x = x.to(device)
            autocast = (torch.autocast(device, dtype=dtype) if dtype is not None
                        else nullcontext())
            with autocast:
                logits = model(x)
            prob, mask = probs_and_mask(logits.float() + logit_shift, image, spec)
            probs.append(prob)
            masks.append(mask)
    return Outputs(images.names, np.stack(probs).astype(np.float32), tuple(masks))


def probs_and_mask(logits: Any, image: np.ndarray, spec: ModelSpec | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """One image's probabilities ((H, W) for one class, (classes, H, W) for several, at the
    model's size) and its mask at the image's own size, from its logits (batch of one);
    shared by PyTorch's cases and the other runtimes' (segtasks.runtimes.outputs)."""
    import torch

    found = torch.sigmoid(logits)[0]
    prob = (found[0] if found.shape[0] == 1 else found).cpu().numpy()
    return prob, postprocess(logits, [image.shape[:2]], spec_or_default(spec).classes)[0]


def reference_outputs(model: Any, images: ParitySet, case: Case) -> Outputs:
    """The fp32 eager reference: strict fp32 math, contiguous layout, no autocast. The case's
    math mode is set back afterwards."""
    import torch

    precision.apply("fp32")
    try:
        model.to(memory_format=torch.contiguous_format)
        return model_outputs(model, images, device=case.device, precision_name="fp32",
                             channels_last=False, logit_shift=planted.output_shift(),
                             spec=case.model)
    finally:
        precision.apply(case.precision)


def is_the_reference(case: Case, model: Any, eager: Any | None) -> bool:
    """Whether the case runs exactly the reference's computation: the plain module (not
    compiled), strict fp32 without autocast, contiguous layout, in the same process on the
    same device. Its own outputs are then the reference, and computing them twice would
    only double the check's cost (half a second per image on one CPU core) for the same
    numbers. A planted case-only shift (tests) makes it differ on purpose."""
    return (case.precision == "fp32" and not case.channels_last and case.compile == "none"
            and (eager is None or eager is model) and not planted.case_output_shift())


def check_outputs(model: Any, images: ParitySet, case: Case, device_kind: str,
                  eager: Any | None = None) -> tuple[OutputCheck, dict[str, Any]]:
    """The case's parity against the reference, and the reference in its travelling form.

    `model` is the case's model as measured (its layout already set); the reference runs
    `eager` (the plain module, where `model` wraps it, e.g. compiled), else `model`, put back
    to the contiguous layout: so call this after measuring.
    """
    own = model_outputs(model, images, device=case.device, precision_name=case.precision,
                        channels_last=case.channels_last,
                        logit_shift=planted.output_shift() + planted.case_output_shift(),
                        spec=case.model)
    if is_the_reference(case, model, eager):
        reference = own  # the same module, math and layout: the same passes again
    else:
        reference = reference_outputs(eager if eager is not None else model, images, case)
    return compare(own, reference, images, device_kind, case.model_spec.classes)


def compare(own: Outputs, reference: Outputs, images: ParitySet, device_kind: str,
            classes: int = 1) -> tuple[OutputCheck, dict[str, Any]]:
    """How far a case's outputs lie from the reference's, and the reference in its
    travelling form (also for a runtime other than torch: segtasks.runtimes.outputs).
    `classes`: the model's; the truth is compared with a one-class model's masks only."""
    found = metrics.parity(own.probs, own.masks, reference.probs, reference.masks)
    # the truth is one foreground mask per image: a model of several classes is not
    # compared with it
    truth_iou = (metrics.iou(own.masks, images.truth)
                 if images.truth is not None and classes == 1 else None)
    check = OutputCheck(
        parity_images=len(images.names), parity_max_abs_diff=found.max_abs_diff,
        parity_mask_mismatch=found.mask_mismatch, parity_iou=found.iou, truth_iou=truth_iou,
        device_kind=device_kind, reference_checksum=reference.checksum())
    return check, encode(reference)
