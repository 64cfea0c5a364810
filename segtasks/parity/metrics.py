"""Parity of two sets of outputs of the same images, and IoU against the truth: pure NumPy.

`probs` are the model's probabilities at its input size, shape (images, H, W); masks are
boolean, one per image at the image's own size. Shares and IoU are pooled over all the
images' pixels (a small image weighs less than a large one, and an image with an empty
mask does not make the mean undefined).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _stacked(masks: Sequence[np.ndarray], other: Sequence[np.ndarray]
             ) -> tuple[np.ndarray, np.ndarray]:
    if len(masks) != len(other):
        raise ValueError(f"cannot compare {len(masks)} masks with {len(other)}")
    for a, b in zip(masks, other, strict=True):
        if a.shape != b.shape:
            raise ValueError(f"cannot compare a mask of shape {a.shape} with one of {b.shape}")
    flat_a = np.concatenate([np.asarray(m, dtype=bool).ravel() for m in masks])
    flat_b = np.concatenate([np.asarray(m, dtype=bool).ravel() for m in other])
    return flat_a, flat_b


def max_abs_diff(probs: np.ndarray, reference: np.ndarray) -> float:
    """The largest absolute difference of two probability arrays of the same shape."""
    if probs.shape != reference.shape:
        raise ValueError(f"cannot compare probabilities of shape {probs.shape} with "
                         f"{reference.shape}")
    diff = np.abs(np.asarray(probs, dtype=np.float64) - np.asarray(reference, dtype=np.float64))
    return float(diff.max()) if diff.size else 0.0


def mask_mismatch(masks: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> float:
    """The share of mask pixels that differ (0: identical, 1: every pixel flipped)."""
    a, b = _stacked(masks, reference)
    return float(np.count_nonzero(a != b) / a.size) if a.size else 0.0


def iou(masks: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> float:
    """Intersection over union of the foreground, pooled over the images; two empty
    foregrounds agree completely (1.0)."""
    a, b = _stacked(masks, reference)
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


@dataclass(frozen=True)
class Parity:
    """How far a case's outputs lie from the fp32 eager reference of the same images."""

    max_abs_diff: float  # of the probabilities
    mask_mismatch: float  # share of mask pixels that differ
    iou: float  # of the masks, against the reference's


def parity(probs: np.ndarray, masks: Sequence[np.ndarray], ref_probs: np.ndarray,
           ref_masks: Sequence[np.ndarray]) -> Parity:
    return Parity(max_abs_diff(probs, ref_probs), mask_mismatch(masks, ref_masks),
                  iou(masks, ref_masks))
