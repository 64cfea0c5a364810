"""The report's word on outputs: which weights were measured, and each case's parity against
the fp32 eager reference (segtasks.judge.outputs judges them)."""

from __future__ import annotations

from collections.abc import Sequence

from segtasks.domain.records import Result

# the record's vocabulary; provenance imports nothing heavy
from segtasks.measure.provenance import SEEDED, TRAINED, UNRECORDED, UNTRAINED_WARNING

_ORIGIN_TEXT = {TRAINED: "trained demo weights (segbench train-demo)",
                SEEDED: "seeded random weights (segbench weights), untrained",
                UNRECORDED: "weights of unrecorded origin (no record beside the file)"}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def weights_lines(results: Sequence[Result]) -> list[str]:
    """One line per weights file the run measured, and the warning for untrained ones."""
    seen: dict[tuple[str | None, str | None], None] = {}
    for r in results:
        if r.weights_sha256:
            seen[(r.weights_sha256, getattr(r, "weights_origin", None))] = None
    lines = [f"Weights {sha[:12]}: {_ORIGIN_TEXT.get(origin or '', origin or 'origin unknown')}"
             for sha, origin in seen if sha]
    if any(origin == SEEDED for _, origin in seen):
        lines.append(UNTRAINED_WARNING)
    return lines


def output_rows(results: Sequence[Result]) -> list[dict[str, str]]:
    """Per checked case: parity against the fp32 eager reference and IoU against the truth."""
    rows = []
    for r in results:
        if not getattr(r, "parity_images", None):
            continue
        rows.append({
            "Case": r.case_key,
            "Images": str(r.parity_images),
            "Max abs dp": _fmt(r.parity_max_abs_diff, ".2g"),
            "Masks differing": _fmt(r.parity_mask_mismatch, ".3%"),
            "IoU vs fp32 eager": _fmt(r.parity_iou, ".4f"),
            "IoU vs truth": _fmt(r.truth_iou, ".4f"),
            "Within tolerance": {True: "yes", False: "NO", None: "-"}[r.parity_ok],
            "Golden drift (max abs dp)": _fmt(r.golden_max_abs_diff, ".2g"),
        })
    return rows
