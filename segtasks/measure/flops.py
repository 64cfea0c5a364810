"""How much work one forward pass is, counted rather than guessed."""

from __future__ import annotations

from segtasks.measure.model import INPUT_SIZE


def flops_per_image(input_size: tuple[int, int] = INPUT_SIZE) -> float:
    """FLOPs of one forward pass at batch size 1 (FMA = 2), counted on the meta device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from segtasks.measure.model import build_model

    with torch.device("meta"):
        model = build_model().eval()
        x = torch.empty(1, 1, *input_size)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x)
    return float(counter.get_total_flops())
