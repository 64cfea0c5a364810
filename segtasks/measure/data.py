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


def load_class_masks(image_set: ImageSet, classes: int = 1) -> list[np.ndarray | None]:
    """The true masks of a model of `classes` classes: for one class, `load_masks`'s (H, W)
    masks; for several, (classes, H, W) per image from `masks/class_<k>/` as
    `make_synthetic` writes them, None where any class's mask is missing or of another
    size."""
    if classes == 1:
        return load_masks(image_set)
    found: list[np.ndarray | None] = []
    for name, image in zip(image_set.names, image_set.images, strict=True):
        layers = []
        for k in range(classes):
            path = image_set.folder / MASKS_FOLDER / class_folder(k) / name
            mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) if path.is_file() else None
            if mask is None or mask.shape != image.shape[:2]:
                break
            layers.append(mask > 127)
        found.append(np.stack(layers) if len(layers) == classes else None)
    return found


def class_folder(k: int) -> str:
    """Where class k's masks lie under masks/ for a model of several classes."""
    return f"class_{k}"


# A model of several classes gets a shape per class, so that its classes can be told apart
# by form (and, in colour, by hue): class 0 ellipses, as the 1-class set, then these.
_SHAPES = ("rectangle", "triangle", "ring")
_LEVELS = (110, 60, -35, 150)  # grayscale brightness added by class k (k modulo 4)
_COLOURS = ((120, 60, 0), (0, 110, 40), (10, 30, 130), (110, 0, 110))  # RGB, by class


def _shape(mask: np.ndarray, rng: np.random.Generator, kind: str) -> None:
    """One filled shape of `kind` drawn into `mask` (255 inside), at a random place."""
    height, width = mask.shape
    side = min(height, width)
    cx = int(rng.integers(width // 8, width - width // 8))
    cy = int(rng.integers(height // 8, height - height // 8))
    r = int(rng.integers(max(side // 20, 1), max(side // 6, 2)))
    if kind == "rectangle":
        cv2.rectangle(mask, (cx - r, cy - r // 2), (cx + r, cy + r // 2), 255, thickness=-1)
    elif kind == "triangle":
        points = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], dtype=np.int32)
        cv2.fillPoly(mask, [points], 255)
    else:  # a ring: a disc less its middle
        cv2.circle(mask, (cx, cy), r, 255, thickness=max(r // 2, 1))


def _scene(rng: np.random.Generator, height: int, width: int, classes: int = 1,
           colour: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
    """A noisy scene with a few shapes of each class, and each class's shapes as its true
    mask. One class in grayscale is the set as it always was: the same draws in the same
    order (a few bright ellipses), so the same seed gives the same files."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy, xx = yy / height, xx / width
    background = 40 + 50 * (rng.uniform(0.3, 1.0) * xx + rng.uniform(0.3, 1.0) * yy)
    masks = [np.zeros((height, width), dtype=np.uint8) for _ in range(classes)]
    side = min(height, width)
    for _ in range(int(rng.integers(2, 6))):
        lo_x, hi_x, lo_y, hi_y = width // 8, width - width // 8, height // 8, height - height // 8
        center = (int(rng.integers(lo_x, hi_x)), int(rng.integers(lo_y, hi_y)))
        axes = (int(rng.integers(side // 20, side // 6)), int(rng.integers(side // 20, side // 6)))
        cv2.ellipse(masks[0], center, axes, float(rng.uniform(0, 180)), 0, 360, 255,
                    thickness=-1)
    for k in range(1, classes):
        for _ in range(int(rng.integers(1, 4))):
            _shape(masks[k], rng, _SHAPES[(k - 1) % len(_SHAPES)])
    # brightness (or, in colour, a hue) per class over the background, then the noise: for
    # one class in grayscale the very sum the set always had
    pixels = background[..., None] if colour else background
    for k, mask in enumerate(masks):
        inside = (mask[..., None] if colour else mask) > 0
        pixels = pixels + inside * (np.array(_COLOURS[k % len(_COLOURS)]) if colour
                                    else _LEVELS[k % len(_LEVELS)])
    pixels = pixels + rng.normal(0, 12, (height, width, 3) if colour else (height, width))
    return np.clip(pixels, 0, 255).astype(np.uint8), masks


def make_synthetic(dest: Path, count: int = 64, size: int | tuple[int, int] = 512,
                   seed: int = 0, *, channels: int = 1, classes: int = 1) -> list[Path]:
    """Write `count` images to `dest` and their masks to `dest/masks`; same seed, same
    files. `size` is a side, or (height, width); images are RGB for 3 `channels` (a model
    of 3 input channels reads colour), else grayscale; several `classes` get a mask each,
    in masks/class_<k>/ (one class: masks/, as always)."""
    height, width = (size, size) if isinstance(size, int) else size
    if count < 1 or not all(MIN_SIZE <= side <= MAX_SIZE for side in (height, width)) \
            or classes < 1:
        # the size bounds each side of a (height, width) alike
        raise DataError(f"need count >= 1, classes >= 1 and size from {MIN_SIZE} to "
                        f"{MAX_SIZE}, got count={count}, size={size}, classes={classes}")
    dest = Path(dest)
    folders = [dest / MASKS_FOLDER] if classes == 1 else [
        dest / MASKS_FOLDER / class_folder(k) for k in range(classes)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(count):
        image, masks = _scene(np.random.default_rng([seed, i]), height, width, classes,
                              colour=channels == 3)
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # OpenCV writes BGR
        name = f"img_{i:04d}.png"
        pairs = [(dest / name, image), *((folder / name, mask)
                                         for folder, mask in zip(folders, masks, strict=True))]
        for path, pixels in pairs:
            if not cv2.imwrite(str(path), pixels):  # OpenCV says False, it raises nothing
                raise DataError(f"could not write {path}")
        written.append(dest / name)
    return written
