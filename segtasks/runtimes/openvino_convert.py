"""An ONNX file as OpenVINO's IR (model.xml and model.bin), through openvino.convert_model."""

from __future__ import annotations

from pathlib import Path

from segtasks.runtimes.onnx_export import ExportFailed, one_line


def convert(onnx_path: Path, xml_path: Path) -> None:
    """Convert, keeping the weights in fp32: save_model compresses them to fp16 by default,
    which would change the outputs the parity check compares."""
    import openvino

    try:
        model = openvino.convert_model(str(onnx_path))
        openvino.save_model(model, str(xml_path), compress_to_fp16=False)
    except Exception as exc:  # noqa: BLE001 - an operator it lacks is the case's finding
        raise ExportFailed(f"openvino.convert_model failed: {one_line(exc)}") from exc
