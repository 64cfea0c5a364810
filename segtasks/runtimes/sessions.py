"""A runtime's session on an export: one batch in (the preprocessed NumPy batch, NCHW
float32), its logits out, on the host.

Both are set for strict fp32, the reference's math: onnxruntime's CUDA provider leaves TF32
off (use_tf32=0), OpenVINO's CPU plugin runs f32 (INFERENCE_PRECISION_HINT; it would pick
bf16 on a CPU that has it). Threads follow the case's (cpu_threads, or one per pinned core).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segtasks.plan.case import Case
from segtasks.runtimes.onnx_export import INPUT_NAME, ExportFailed, one_line


@dataclass
class Session:
    """`run(batch)` -> logits; `provider` names what runs it."""

    runner: Any
    provider: str
    kind: str  # the runtime

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self.kind == "onnxruntime":
            return self.runner.run(None, {INPUT_NAME: batch})[0]
        return self.runner(batch)[0]


def _onnxruntime(path: Path, case: Case) -> Session:
    import onnxruntime

    from segtasks.runtimes.available import onnxruntime_providers

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if case.device == "cpu" and case.effective_threads is not None:
        options.intra_op_num_threads = case.effective_threads
    providers: list[Any] = []
    for name in onnxruntime_providers(case.device):
        providers.append((name, {"use_tf32": "0"}) if name == "CUDAExecutionProvider"
                         else name)
    if case.device == "cuda" and "CUDAExecutionProvider" not in [
            p if isinstance(p, str) else p[0] for p in providers]:
        providers.append("CPUExecutionProvider")  # TensorRT alone needs a fallback
    session = onnxruntime.InferenceSession(str(path), options, providers=providers)
    used = session.get_providers()
    if case.device == "cuda" and not set(used) & {"CUDAExecutionProvider",
                                                  "TensorrtExecutionProvider"}:
        raise ExportFailed(f"onnxruntime could not open a CUDA provider (it uses "
                           f"{', '.join(used)})")
    return Session(session, used[0], "onnxruntime")


def _openvino(path: Path, case: Case) -> Session:
    import openvino

    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "f32",
                              "PERFORMANCE_HINT": "LATENCY"}
    if case.effective_threads is not None:
        config["INFERENCE_NUM_THREADS"] = case.effective_threads
    core = openvino.Core()
    compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
    return Session(compiled, "CPU", "openvino")


def open_session(path: Path, case: Case) -> Session:
    """The case's runtime on the export at `path`. A runtime that cannot load the model (an
    operator it lacks) is an ExportFailed: the configuration cannot run, the harness did
    not fail."""
    try:
        return (_onnxruntime if case.runtime == "onnxruntime" else _openvino)(path, case)
    except ExportFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - a runtime's refusal is the case's finding
        raise ExportFailed(f"{case.runtime} could not load the export: {one_line(exc)}") \
            from exc
