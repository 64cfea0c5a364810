"""How far outputs may lie from the fp32 eager reference and still count as the same: one
value per precision (run parameter `output_tolerances`, segtasks.plan.params)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    """The most a configuration may differ from the fp32 eager reference and still count as
    giving the same outputs (run parameter `output_tolerances`, per precision)."""

    max_abs_diff: float
    mask_mismatch: float

    def admits(self, max_abs_diff: float, mask_mismatch: float) -> bool:
        return max_abs_diff <= self.max_abs_diff and mask_mismatch <= self.mask_mismatch

    def describe(self) -> str:
        return f"max abs dp <= {self.max_abs_diff:g}, masks differing <= {self.mask_mismatch:.3%}"
