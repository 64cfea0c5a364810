"""`python -m segtasks.runtimes.export_worker JOB`: make one export form in this process and
publish it to the cache (segtasks.runtimes.export). Prints one JSON line: {"made": folder}
or {"failed": reason}; a crash says its reason on stderr."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from segtasks.measure import planted
from segtasks.runtimes import cache
from segtasks.runtimes.onnx_export import ExportFailed, export_onnx


def _versions(form: str) -> dict[str, str]:
    import torch

    found: dict[str, str] = {"torch": str(torch.__version__)}
    for name in ("onnx", "onnxscript", "openvino") if form == "openvino" else ("onnx",
                                                                                "onnxscript"):
        module = __import__(name)
        found[name] = getattr(module, "__version__", "?")
    return found


def make(job: dict[str, Any]) -> cache.Stored:
    """The export the job asks for, made in a staging folder and published."""
    where, form, opset = Path(job["folder"]), job["form"], int(job["opset"])
    if planted.export_failure():
        raise ExportFailed(f"{planted.EXPORT_FAILURE_VARIABLE} is set: a planted export "
                           "failure")
    stage = cache.staging(where)
    try:
        model_file, seconds = _export(job, form, opset, stage)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return cache.publish(stage, where, model_file, seconds, opset, _versions(form))


def _export(job: dict[str, Any], form: str, opset: int, stage: Path) -> tuple[str, float]:
    started = time.perf_counter()
    if form == "onnx":
        from segtasks.domain.model_spec import ModelSpec
        from segtasks.measure.model import load_model

        spec = ModelSpec.from_dict(job["model"]) if job.get("model") else None
        model = load_model(Path(job["weights"]), "cpu", spec)
        model_file = "model.onnx"
        export_onnx(model, stage / model_file, tuple(job["input_shape"]), opset)
    else:
        from segtasks.runtimes.openvino_convert import convert

        model_file = "model.xml"
        convert(Path(job["source"]), stage / model_file)
    return model_file, time.perf_counter() - started


def main(argv: list[str]) -> int:
    try:
        stored = make(json.loads(argv[0]))
    except ExportFailed as exc:
        print(json.dumps({"failed": str(exc)}))
        return 0
    print(json.dumps({"made": str(stored.folder)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
