"""The mission's model: UNet++ / ResNet-34, its weights, its transform and its postprocess.

torch, torchvision and smp are imported inside functions so that importing this
module (e.g. from a DAG file's task) costs nothing until a case really runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from segtasks.errors import SegbenchError

if TYPE_CHECKING:
    import torch

INPUT_SIZE = (256, 256)
THRESHOLD = 0.5
ARCHITECTURE = "UnetPlusPlus(resnet34, depth=4, decoder=(256,128,64,32), in=1, classes=1)"
_SHOWN_KEYS = 5


class WeightsError(SegbenchError, ValueError):
    """The weights file is missing, unreadable, or not for this architecture."""


def build_model() -> torch.nn.Module:
    import segmentation_models_pytorch as smp

    return smp.UnetPlusPlus(
        encoder_name="resnet34",
        encoder_weights=None,  # never download at run time; weights come from weights/
        encoder_depth=4,
        decoder_channels=(256, 128, 64, 32),
        in_channels=1,
        classes=1,
    )


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


def check_state_dict(model: torch.nn.Module, state: dict, path: Path) -> None:
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
            f"weights file {path} does not fit {ARCHITECTURE}: " + "; ".join(problems)
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


def load_model(path: Path, device: str) -> torch.nn.Module:
    """The model in eval mode on `device`, with the state dict at `path` loaded safely."""
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
    try:
        obj = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError) as exc:
        raise WeightsError(f"weights file {path} cannot be read as a state dict: "
                           f"{why_unreadable(exc)}") from None
    state = _unwrap(obj)
    model = build_model()
    check_state_dict(model, state, path)
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def make_weights(path: Path, seed: int = 0) -> Path:
    """A seeded, untrained state dict: realistic for timing, meaningless for accuracy."""
    import torch

    from segtasks.measure.provenance import SEEDED, write_record

    torch.manual_seed(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(build_model().state_dict(), path)
    write_record(path, {"origin": SEEDED, "seed": seed, "sha256": file_sha256(path),
                        "weights": path.name, "torch_version": torch.__version__})
    return path


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype of a case's precision; None runs the model as stored (fp32)."""
    import torch

    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def _transform():
    from torchvision import transforms

    return transforms.Compose(
        [transforms.ToTensor(), transforms.Resize(INPUT_SIZE, antialias=True)])


def preprocess(images: Sequence[np.ndarray]) -> torch.Tensor:
    """The mission's transform per image (ToTensor, Resize 256x256), stacked into one batch."""
    import torch

    transform = _transform()
    return torch.stack([transform(image) for image in images])


def postprocess(logits: torch.Tensor, sizes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """Boolean masks at each image's own size: sigmoid >= 0.5, resized back by nearest neighbour."""
    import torch
    from torch.nn import functional as F

    probs = torch.sigmoid(logits)
    masks: list[np.ndarray | None] = [None] * len(sizes)
    # One resize per distinct size: a folder of same-sized images costs a single call.
    for size in dict.fromkeys(sizes):
        idx = [i for i, s in enumerate(sizes) if s == size]
        resized = F.interpolate(probs[idx], size=size, mode="nearest") >= THRESHOLD
        for j, mask in zip(idx, resized[:, 0].cpu().numpy(), strict=True):
            masks[j] = mask
    return masks  # type: ignore[return-value]
