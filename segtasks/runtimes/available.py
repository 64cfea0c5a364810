"""Why a runtime cannot run a case on this machine, or None: never a silent substitute."""

from __future__ import annotations

import importlib

from segtasks.plan.case import TORCH, Case

# the module each runtime is imported as, and the extra that installs it (pyproject.toml)
MODULES = {"onnxruntime": ("onnxruntime", "onnx"), "openvino": ("openvino", "openvino")}
# what the ONNX export itself needs (torch.onnx.export's dynamo exporter)
EXPORTER_MODULES = ("onnx", "onnxscript")
CUDA_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def _missing(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return True
    return False


def not_installed(runtime: str) -> str | None:
    """'onnxruntime is not installed: pip install -e .[onnx]', or None when it and the
    exporter are importable."""
    module, extra = MODULES[runtime]
    for name in (module, *EXPORTER_MODULES):
        if _missing(name):
            return f"{name} is not installed: pip install -e .[{extra}]"
    return None


def onnxruntime_providers(device: str) -> list[str]:
    """The execution providers a case on `device` runs with, best first: on cuda the
    TensorRT and CUDA providers this onnxruntime has (CUDA kept as TensorRT's fallback for
    what it cannot take), on the CPU the CPU provider. Empty: none for this device."""
    import onnxruntime

    have = onnxruntime.get_available_providers()
    if device == "cuda":
        return [p for p in CUDA_PROVIDERS if p in have]
    return ["CPUExecutionProvider"]


def unsupported(case: Case) -> str | None:
    """Why this machine cannot run the case in its runtime, or None (torch: always None)."""
    if case.runtime == TORCH:
        return None
    if why := not_installed(case.runtime):
        return why
    if case.runtime == "openvino" and case.device != "cpu":
        return "openvino runs on the CPU here; its GPU plugin is Intel's, not CUDA"
    if case.runtime == "onnxruntime" and case.device == "cuda" and \
            not onnxruntime_providers("cuda"):
        import onnxruntime

        return (f"onnxruntime {onnxruntime.__version__} has no CUDA or TensorRT execution "
                f"provider (it has {', '.join(onnxruntime.get_available_providers())}): "
                "install onnxruntime-gpu")
    return None
