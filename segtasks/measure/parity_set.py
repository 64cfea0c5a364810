"""The fixed, small set of images each case's outputs are checked on: the last
`PARITY_IMAGES` images of the input folder by name, with their true masks where the folder
has them. Deterministic, so that every case and every night sees the same images; the last
ones by name, because `segbench train-demo` holds the last images out of training, so the
IoU against the truth is measured on images the demo model never saw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segtasks.measure.data import ImageSet, load_masks

# A handful: one forward pass each in two configurations keeps the check to about a second
# per case on a CPU (outside the timed loop), and 4 x 256 x 256 probabilities stay small
# enough (1 MiB) to keep as golden outputs.
PARITY_IMAGES = 4


@dataclass(frozen=True)
class ParitySet:
    names: tuple[str, ...]
    images: tuple[np.ndarray, ...]
    truth: tuple[np.ndarray, ...] | None  # only when every image has its true mask


def parity_set(image_set: ImageSet, count: int = PARITY_IMAGES) -> ParitySet:
    chosen = sorted(range(len(image_set.names)), key=lambda i: image_set.names[i])[-count:]
    masks = load_masks(image_set)
    truth = [masks[i] for i in chosen]
    return ParitySet(tuple(image_set.names[i] for i in chosen),
                     tuple(image_set.images[i] for i in chosen),
                     tuple(truth) if all(m is not None for m in truth) else None)  # type: ignore[arg-type]
