"""How much work one forward pass is, counted rather than guessed."""

from __future__ import annotations

from segtasks.domain.model_spec import ModelSpec, spec_or_default


def gflop_or_zero(spec: ModelSpec | None, warnings: list[str]) -> float:
    """GFLOPs per image, or 0 (not counted: no GFLOP/s is stored) with a warning where the
    model cannot run on the meta device: a user's factory may load files or make real
    tensors in its forward. The count is a derived figure; the case's timing stands."""
    try:
        return flops_per_image(spec) / 1e9
    except Exception as exc:  # noqa: BLE001 - any failure of the user's model on meta
        text = str(exc).strip().splitlines()
        warnings.append(f"FLOPs not counted: {type(exc).__name__}: "
                        f"{text[0] if text else ''}".rstrip(": "))
        return 0.0


def flops_per_image(spec: ModelSpec | None = None) -> float:
    """FLOPs of one forward pass of the spec's model at batch size 1 and its input size
    (FMA = 2), counted on the meta device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from segtasks.measure.model import build_model

    spec = spec_or_default(spec)
    with torch.device("meta"):
        model = build_model(spec).eval()
        x = torch.empty(1, spec.in_channels, *spec.input_size)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x)
    return float(counter.get_total_flops())
