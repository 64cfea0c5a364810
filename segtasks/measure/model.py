"""The model a case measures (its spec: segtasks.domain.model_spec; by default the mission's
UNet++ / ResNet-34), its weights, its transform and its postprocess.

torch, torchvision and smp are imported inside functions so that importing this
module (e.g. from a DAG file's task) costs nothing until a case really runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from segtasks.domain.model_spec import DEFAULT, ModelSpec, spec_or_default
from segtasks.errors import SegbenchError

if TYPE_CHECKING:
    import torch

INPUT_SIZE = DEFAULT.input_size
THRESHOLD = 0.5
ARCHITECTURE = DEFAULT.describe()
_SHOWN_KEYS = 5


class WeightsError(SegbenchError, ValueError):
    """The weights file is missing, unreadable, or not for this architecture."""


class ModelError(SegbenchError, ValueError):
    """The model a spec names cannot be built, or does not give what the spec says."""


def build_model(spec: ModelSpec | None = None) -> torch.nn.Module:
    """The spec's network, untrained (never downloads weights: they come from a file)."""
    spec = spec_or_default(spec)
    if spec.factory is not None:
        return _from_factory(spec.factory)
    import segmentation_models_pytorch as smp

    extra: dict[str, object] = {}
    if spec.encoder_depth is not None:
        extra["encoder_depth"] = spec.encoder_depth
    if spec.decoder_channels is not None:
        extra["decoder_channels"] = spec.decoder_channels
    return smp.create_model(str(spec.architecture), encoder_name=str(spec.encoder),
                            encoder_weights=None, in_channels=spec.in_channels,
                            classes=spec.classes, **extra)


def _from_factory(factory: str) -> torch.nn.Module:
    import importlib

    import torch

    module_name, function_name = factory.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(f"factory {factory}: cannot import {module_name} ({exc})") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ModelError(f"factory {factory}: {module_name} has no function {function_name}")
    model = function()
    if not isinstance(model, torch.nn.Module):
        raise ModelError(f"factory {factory} returned {type(model).__name__}, not a "
                         "torch.nn.Module")
    return model


def weights_of(spec: ModelSpec | None, default: Path) -> Path:
    """The weights file of a case: the spec's (relative to SEGBENCH_HOME), else `default`."""
    if spec is None or spec.weights is None:
        return Path(default)
    from segtasks.paths import home

    path = Path(spec.weights).expanduser()
    return path if path.is_absolute() else home() / path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unwrap(obj: object) -> dict:
    """Accept the state dict itself, or the common training-checkpoint wrappers around it."""
    if isinstance(obj, dict):
        for wrapper in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(wrapper)
            if isinstance(inner, dict):
                obj = inner
                break
        # DataParallel / DDP checkpoints prefix every key with "module."
        if obj and all(isinstance(k, str) and k.startswith("module.") for k in obj):
            obj = {k[len("module.") :]: v for k, v in obj.items()}
        return obj
    raise WeightsError(f"expected a state dict (a dict of tensors), found {type(obj).__name__}")


def _describe(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:_SHOWN_KEYS])
    return shown + (f", ... ({len(keys) - _SHOWN_KEYS} more)" if len(keys) > _SHOWN_KEYS else "")


def check_state_dict(model: torch.nn.Module, state: dict, path: Path,
                     spec: ModelSpec | None = None) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    reshaped = sorted(
        f"{k} (file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)})"
        for k in set(expected) & set(state)
        if tuple(getattr(state[k], "shape", ())) != tuple(expected[k].shape)
    )
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys: {_describe(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_describe(unexpected)}")
    if reshaped:
        problems.append(f"{len(reshaped)} shape mismatches: {_describe(reshaped)}")
    if problems:
        raise WeightsError(
            f"weights file {path} does not fit {spec_or_default(spec).describe()}: "
            + "; ".join(problems)
        )


def why_unreadable(exc: BaseException) -> str:
    """torch's reason, without its advice to load with weights_only=False: that runs any
    code the file holds, and segbench never does it."""
    import re

    text = str(exc)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return (f"it holds a Python object ({found.group(1)}), not only tensors; "
                "segbench loads plain state dicts only")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and "weights_only" not in line]
    detail = lines[0] if lines else ""
    if isinstance(exc, EOFError | KeyError) or not detail:
        what = type(exc).__name__ + (f" {detail}" if detail else "")
        return f"not a PyTorch file, or cut short ({what})"
    return detail


def check_sha256(path: Path, spec: ModelSpec | None) -> str:
    """The file's sha256; a WeightsError naming both hashes when the spec pins another."""
    found = file_sha256(path)
    expected = spec.weights_sha256 if spec is not None else None
    if expected is not None and found != expected:
        raise WeightsError(f"weights file {path} has sha256 {found}, the model spec's "
                           f"weights_sha256 is {expected}")
    return found


def load_model(path: Path, device: str, spec: ModelSpec | None = None) -> torch.nn.Module:
    """The spec's model in eval mode on `device`, with the state dict at `path` loaded
    safely (and checked against the spec's weights_sha256 when it pins one)."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            f"weights file {path} not found: run `segbench weights`, or drop a trained "
            "state dict there (see weights/README.md)"
        )
    if path.stat().st_size == 0:
        raise WeightsError(f"weights file {path} is empty (0 bytes): run `segbench weights`, "
                           "or drop a trained state dict there (see weights/README.md)")
    check_sha256(path, spec)
    try:
        obj = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError) as exc:
        raise WeightsError(f"weights file {path} cannot be read as a state dict: "
                           f"{why_unreadable(exc)}") from None
    state = _unwrap(obj)
    model = build_model(spec)
    check_state_dict(model, state, path, spec)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def make_weights(path: Path, seed: int = 0, spec: ModelSpec | None = None) -> Path:
    """A seeded, untrained state dict: realistic for timing, meaningless for accuracy."""
    import torch

    from segtasks.measure.provenance import SEEDED, write_record

    torch.manual_seed(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(build_model(spec).state_dict(), path)
    write_record(path, {"origin": SEEDED, "seed": seed, "sha256": file_sha256(path),
                        "weights": path.name, "torch_version": torch.__version__})
    return path


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a case's precision; None runs the model as stored (fp32)."""
    import torch

    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def _transform(input_size: tuple[int, int]):
    from torchvision import transforms

    return transforms.Compose(
        [transforms.ToTensor(), transforms.Resize(input_size, antialias=True)])


def preprocess(images: Sequence[np.ndarray], spec: ModelSpec | None = None) -> torch.Tensor:
    """The mission's transform per image (ToTensor, Resize to the spec's input size),
    stacked into one batch of the spec's channels.

    Images come as data.load_images reads them for the spec: grayscale (H, W) for one
    channel, RGB (H, W, 3) for three; for any other count a grayscale image is repeated
    into every channel (a model with, say, 2 input channels has no colour convention)."""
    import torch

    spec = spec_or_default(spec)
    transform = _transform(spec.input_size)
    batch = torch.stack([transform(image) for image in images])
    if batch.shape[1] != spec.in_channels:
        if batch.shape[1] != 1:
            raise ModelError(f"images of {batch.shape[1]} channels for a model of "
                             f"{spec.in_channels}")
        batch = batch.expand(-1, spec.in_channels, -1, -1).contiguous()
    return batch


def postprocess(logits: torch.Tensor, sizes: Sequence[tuple[int, int]],
                classes: int | None = None) -> list[np.ndarray]:
    """Boolean masks at each image's own size: sigmoid >= 0.5, resized back by nearest
    neighbour. One class: a mask (H, W) per image, as always; several: one sigmoid mask per
    class, (classes, H, W). `classes`, when given, is checked against the model's output
    (a factory's model may not give what its spec says)."""
    import torch
    from torch.nn import functional as F

    if classes is not None and logits.shape[1] != classes:
        raise ModelError(f"the model gives {logits.shape[1]} output channels, its spec "
                         f"says classes={classes}")
    probs = torch.sigmoid(logits)
    masks: list[np.ndarray | None] = [None] * len(sizes)
    # One resize per distinct size: a folder of same-sized images costs a single call.
    for size in dict.fromkeys(sizes):
        idx = [i for i, s in enumerate(sizes) if s == size]
        resized = F.interpolate(probs[idx], size=size, mode="nearest") >= THRESHOLD
        found = resized.cpu().numpy()
        for j, mask in zip(idx, found[:, 0] if probs.shape[1] == 1 else found, strict=True):
            masks[j] = mask
    return masks  # type: ignore[return-value]
