"""A runtime case's outputs on the parity images against PyTorch fp32 eager on the same
device and images, with the same metrics and tolerances as any case
(segtasks.measure.outputs): one image per run, after the timed work."""

from __future__ import annotations

from typing import Any

import numpy as np

from segtasks.domain.model_spec import ModelSpec
from segtasks.measure import planted
from segtasks.measure.outputs import compare, probs_and_mask, reference_outputs
from segtasks.measure.parity_set import ParitySet
from segtasks.parity.outputs import Outputs
from segtasks.plan.case import Case
from segtasks.result import OutputCheck
from segtasks.runtimes.sessions import Session
from segtasks.runtimes.workload import as_batch


def session_outputs(session: Session, images: ParitySet, logit_shift: float = 0.0,
                    spec: ModelSpec | None = None) -> Outputs:
    """Probabilities and masks of each parity image, one run each: (H, W) per image for one
    class, (classes, H, W) for several, as segtasks.measure.outputs.model_outputs."""
    import torch

    probs: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for image in images.images:
        logits = torch.from_numpy(session.run(as_batch([image], spec))).float() + logit_shift
        prob, mask = probs_and_mask(logits, image, spec)
        probs.append(prob)
        masks.append(mask)
    return Outputs(images.names, np.stack(probs).astype(np.float32), tuple(masks))


def check_runtime_outputs(session: Session, eager: Any, images: ParitySet, case: Case,
                          device_kind: str) -> tuple[OutputCheck, dict[str, Any]]:
    """The session's parity against the fp32 eager reference of `eager` (the PyTorch
    module on the case's device), and the reference in its travelling form."""
    own = session_outputs(session, images,
                          planted.output_shift() + planted.case_output_shift(), case.model)
    reference = reference_outputs(eager, images, case)
    return compare(own, reference, images, device_kind, case.model_spec.classes)
