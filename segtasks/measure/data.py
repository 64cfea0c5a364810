"""Input images: read any folder of images, make the deterministic synthetic set, fingerprint it."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from segtasks.errors import SegbenchError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


class DataError(SegbenchError, ValueError):
    """The input folder cannot provide any usable image."""


@dataclass
class ImageSet:
    folder: Path
    images: list[np.ndarray]
    names: list[str]
    fingerprint: str
    skipped: list[tuple[str, str]] = field(default_factory=list)


def load_images(folder: Path, channels: int = 1) -> ImageSet:
    """Decode every image file in `folder` (not recursive) as 8-bit grayscale, or as RGB
    (H, W, 3) for a model of 3 input channels: such a model was trained on colour images,
    and OpenCV decodes a grayscale file as three equal channels, so both kinds of folder
    work. (Any other channel count gets grayscale, repeated by model.preprocess.)

    Unreadable files are left out and reported by name; a folder without a single
    usable image is an error, never an empty benchmark.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"input folder {folder} does not exist (demo set: `segbench data`)")
    images: list[np.ndarray] = []
    names: list[str] = []
    skipped: list[tuple[str, str]] = []
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((path.name, "not an image file"))
            continue
        raw = path.read_bytes()
        if not raw:
            skipped.append((path.name, "empty file"))
            continue
        colour = channels == 3
        image = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8),
                             cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE)
        if colour and image is not None and image.size:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        if image is None or image.size == 0:
            skipped.append((path.name, "cannot be decoded (corrupt or unsupported format)"))
            continue
        images.append(image)
        names.append(path.name)
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(raw).digest())
    for name, why in skipped:
        log.warning("skipped input %s: %s", folder / name, why)
    if skipped:
        total = len(skipped) + len(images)
        log.warning("left out %d of %d files in %s", len(skipped), total, folder)
    if not images:
        detail = f" ({len(skipped)} files skipped: " + ", ".join(n for n, _ in skipped) + ")"
        raise DataError(f"no readable image in {folder}" + (detail if skipped else ""))
    return ImageSet(folder, images, names, digest.hexdigest()[:16], skipped)


MASKS_FOLDER = "masks"
# A synthetic image is drawn whole in memory (a coordinate grid of 16 bytes a pixel), so
# the size is bounded; the model resizes its inputs anyway.
MIN_SIZE, MAX_SIZE = 8, 4096


def load_masks(image_set: ImageSet) -> list[np.ndarray | None]:
    """The ground-truth mask of each image (boolean, at the image's size) from the folder's
    `masks/` subfolder under the same name, as `make_synthetic` writes them; None where an
    image has none, or one of another size (it would not be its mask)."""
    found: list[np.ndarray | None] = []
    for name, image in zip(image_set.names, image_set.images, strict=True):
        path = image_set.folder / MASKS_FOLDER / name
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) if path.is_file() else None
        found.append(mask > 127 if mask is not None and mask.shape == image.shape[:2] else None)
    return found


def _synthetic_pair(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy grayscale scene with a few bright blobs, and the blobs as the true mask."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    background = 40 + 50 * (rng.uniform(0.3, 1.0) * xx + rng.uniform(0.3, 1.0) * yy)
    mask = np.zeros((size, size), dtype=np.uint8)
    for _ in range(int(rng.integers(2, 6))):
        lo, hi = size // 8, size - size // 8
        center = (int(rng.integers(lo, hi)), int(rng.integers(lo, hi)))
        axes = (int(rng.integers(size // 20, size // 6)), int(rng.integers(size // 20, size // 6)))
        cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, 255, thickness=-1)
    noise = rng.normal(0, 12, (size, size))
    image = np.clip(background + (mask > 0) * 110 + noise, 0, 255).astype(np.uint8)
    return image, mask


def make_synthetic(dest: Path, count: int = 64, size: int = 512, seed: int = 0) -> list[Path]:
    """Write `count` images to `dest` and their masks to `dest/masks`; same seed, same files."""
    if count < 1 or not MIN_SIZE <= size <= MAX_SIZE:
        raise DataError(f"need count >= 1 and size from {MIN_SIZE} to {MAX_SIZE}, got "
                        f"count={count}, size={size}")
    dest = Path(dest)
    (dest / MASKS_FOLDER).mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(count):
        image, mask = _synthetic_pair(np.random.default_rng([seed, i]), size)
        name = f"img_{i:04d}.png"
        for path, pixels in ((dest / name, image), (dest / MASKS_FOLDER / name, mask)):
            if not cv2.imwrite(str(path), pixels):  # OpenCV says False, it raises nothing
                raise DataError(f"could not write {path}")
        written.append(dest / name)
    return written
