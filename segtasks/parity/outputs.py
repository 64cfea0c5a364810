"""Outputs in the compact form they travel and are kept in: the probabilities and masks of
the parity images, their checksum, a summary a person can read (per image: mask pixels and
mean probability), and the arrays as compressed npz bytes. Pure NumPy.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Arrays larger than this (compressed) are not kept, only their checksum and summary.
MAX_ARRAY_BYTES = 8 * 2**20


@dataclass(frozen=True)
class Outputs:
    """The model's outputs on the parity images: probabilities at the model's input size
    (images, H, W) as float32, and boolean masks at each image's own size; a model of
    several classes has one of each per class: (images, classes, H, W), (classes, H, W)."""

    names: tuple[str, ...]
    probs: np.ndarray
    masks: tuple[np.ndarray, ...]

    def checksum(self) -> str:
        """sha256 of the exact bytes of the probabilities and masks (any change shows)."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.probs, dtype=np.float32).tobytes())
        for mask in self.masks:
            digest.update(str(mask.shape).encode())
            digest.update(np.packbits(mask.astype(bool)).tobytes())
        return digest.hexdigest()

    def summary(self) -> list[dict[str, Any]]:
        """Per image: its name, mask pixels of the total, and the mean probability."""
        return [{"name": name, "mask_pixels": int(np.count_nonzero(mask)),
                 "pixels": int(mask.size), "prob_mean": round(float(probs.mean()), 6)}
                for name, probs, mask in zip(self.names, self.probs, self.masks, strict=True)]

    def to_npz(self) -> bytes:
        buffer = io.BytesIO()
        arrays: dict[str, np.ndarray] = {
            f"mask_{i}": np.packbits(m.astype(bool)) for i, m in enumerate(self.masks)}
        # (H, W) per mask, or (classes, H, W): one row per mask, as many columns as dims
        arrays["shapes"] = np.array([m.shape for m in self.masks], dtype=np.int64).reshape(
            len(self.masks), -1)
        arrays["probs"] = np.asarray(self.probs, dtype=np.float32)
        arrays["names"] = np.array(self.names)
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> Outputs:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            shapes = [tuple(int(v) for v in s) for s in npz["shapes"]]
            masks = tuple(
                np.unpackbits(npz[f"mask_{i}"], count=int(np.prod(shape))).astype(bool)
                .reshape(shape) for i, shape in enumerate(shapes))
            return cls(tuple(str(n) for n in npz["names"]), npz["probs"], masks)


def encode(outputs: Outputs) -> dict[str, Any]:
    """The JSON form that crosses from the case's process to the store."""
    data = outputs.to_npz()
    return {"checksum": outputs.checksum(), "summary": outputs.summary(),
            "npz": base64.b64encode(data).decode() if len(data) <= MAX_ARRAY_BYTES else None}


def decode(encoded: dict[str, Any]) -> Outputs | None:
    npz = encoded.get("npz")
    return Outputs.from_npz(base64.b64decode(npz)) if npz else None


def device_kind(device: str, hardware: dict[str, Any], gpu_index: int = 0) -> str:
    """What outputs are kept per: the device's model (the CPU model, or the GPU's name),
    since the same weights on another kind of device may round differently."""
    if device == "cuda":
        gpus: Sequence[dict[str, Any]] = hardware.get("gpus") or []
        name = gpus[gpu_index].get("name") if gpu_index < len(gpus) else None
        return f"cuda: {name or 'unknown GPU'}"
    return f"cpu: {hardware.get('cpu_model') or 'unknown CPU'}"
