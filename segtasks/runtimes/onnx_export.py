"""A PyTorch module as an ONNX file, through torch.onnx.export (the dynamo exporter), with a
dynamic batch dimension so that one file serves every batch size."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from segtasks.errors import SegbenchError

OPSET = 18  # torch 2.14's exporter default; onnxruntime >= 1.14 and OpenVINO 2023+ read it
INPUT_NAME = "images"
OUTPUT_NAME = "logits"
MAX_BATCH = 1024  # segtasks.plan.case.MAX_BATCH_SIZE: the dynamic dimension's bound


class ExportFailed(SegbenchError, RuntimeError):
    """The model could not be exported to, or loaded by, a runtime (its one-line reason)."""


def one_line(exc: BaseException) -> str:
    """The exception's type and its first line that says something, without the terminal
    colours torch.onnx's messages carry."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in plain.splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def export_onnx(model: Any, path: Path, input_shape: tuple[int, ...], opset: int = OPSET
                ) -> None:
    """Write `model` (eval mode, on the CPU) as ONNX to `path`, its first input dimension
    dynamic; any failure of the exporter is an ExportFailed with its reason."""
    import torch

    sample = torch.zeros((max(2, input_shape[0]), *input_shape[1:]))
    # batch 2 as the example: torch.export specializes a dimension seen as 1
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    try:
        with torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(model, (sample,), str(path), dynamo=True, opset_version=opset,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              dynamic_shapes=({0: batch},), external_data=False,
                              verbose=False)
    except Exception as exc:  # noqa: BLE001 - every exporter failure is the case's finding
        raise ExportFailed(f"torch.onnx.export (opset {opset}) failed: {one_line(exc)}") \
            from exc
    if not path.is_file():
        raise ExportFailed(f"torch.onnx.export (opset {opset}) wrote no file")
