"""What this machine cannot run, and which exceptions mean "out of memory"."""

from __future__ import annotations

import os
import sys

from segtasks.measure import placement
from segtasks.plan.case import Case
from segtasks.runtimes.available import unsupported as runtime_unsupported

# Texts of allocation failures that reach us as a plain RuntimeError rather than
# torch.OutOfMemoryError: the CUDA runtime's own ("CUDA error: out of memory", e.g. at
# context creation), cuBLAS and cuDNN handles and workspaces (cuDNN 9 prints
# CUDNN_STATUS_INTERNAL_ERROR_{DEVICE,HOST}_ALLOCATION_FAILED; CUDNN_STATUS_ALLOC_FAILED
# is its deprecated alias, still printed by older cuDNN), the other CUDA libraries, the
# expandable-segments allocator, and the CPU allocator.
OOM_TEXTS = (
    "out of memory",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_ALLOC_FAILED",
    "ALLOCATION_FAILED",
    "CUFFT_ALLOC_FAILED",
    "CUSOLVER_STATUS_ALLOC_FAILED",
    "CUSPARSE_STATUS_ALLOC_FAILED",
    "memory mapping failed with OOM",
    "can't allocate memory",
    "not enough memory",
)
NATIVE_BF16_TF32 = (8, 0)  # Ampere: bf16 and TF32 tensor cores
# What a machine that can run CUDA has, whatever torch: the Linux NVIDIA driver's own files
# (a GPU container gets them mounted), or WSL2's GPU device. None of them: no CUDA device.
NVIDIA_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg")


def no_cuda_reason() -> str:
    import torch

    if torch.version.cuda is None:
        return f"CUDA requested, but torch {torch.__version__} was built without CUDA"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    hint = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    return (
        f"CUDA requested, but torch {torch.__version__} (CUDA {torch.version.cuda}) sees no "
        f"CUDA device{hint}: no GPU or no driver on this worker"
    )


def no_nvidia_driver() -> str | None:
    """Why no CUDA device can be here, told without torch: a case process costs seconds
    of CPU to find out what a look at the driver's files says (a CPU-only machine skips
    its CUDA cases every night). None where a driver may be (torch decides, in the case's
    process), and on systems other than Linux."""
    if not sys.platform.startswith("linux"):
        return None
    if any(os.path.exists(path) for path in NVIDIA_DRIVER_FILES):
        return None
    return (f"CUDA requested, but this machine has no NVIDIA driver (none of "
            f"{', '.join(NVIDIA_DRIVER_FILES)}): no GPU or no driver on this worker")


def unsupported(case: Case) -> str | None:
    """Why this machine cannot run the case as asked, or None. Never a silent substitute."""
    import torch

    if why := placement.unavailable(case.cpu_affinity):
        return why
    if why := runtime_unsupported(case):  # before CUDA: openvino has no CUDA device at all
        return why
    if case.device == "cuda" and not torch.cuda.is_available():
        return no_cuda_reason()
    if case.device == "cpu" and case.precision == "fp16":
        return "fp16 autocast is a CUDA option here; on the CPU use bf16"
    if case.device == "cpu" and case.precision == "tf32":
        return "tf32 is a CUDA tensor-core mode; on the CPU use fp32 or bf16"
    if case.device == "cpu" and case.compile == "reduce-overhead":
        return ("torch.compile mode reduce-overhead captures CUDA graphs; on the CPU use "
                "default or max-autotune")
    if case.device == "cuda" and case.precision in ("bf16", "tf32"):
        capability = torch.cuda.get_device_capability()
        if tuple(capability) < NATIVE_BF16_TF32:
            name = torch.cuda.get_device_name()
            what = ("bf16 (it would be emulated, which measures nothing useful)"
                    if case.precision == "bf16" else "TF32 tensor cores")
            return (f"{case.precision} requested, but {name} (compute capability "
                    f"{capability[0]}.{capability[1]}) has no native {what}; it needs 8.0+")
    return None


def is_out_of_memory(exc: BaseException) -> bool:
    """Every form an allocation failure takes (see OOM_TEXTS)."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in OOM_TEXTS)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
