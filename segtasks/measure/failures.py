"""What this machine cannot run, and which exceptions mean "out of memory"."""

from __future__ import annotations

import os

from segtasks.plan.case import Case


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


def unsupported(case: Case) -> str | None:
    """Why this machine cannot run the case as asked, or None. Never a silent substitute."""
    import torch

    if case.device == "cuda" and not torch.cuda.is_available():
        return no_cuda_reason()
    if case.device == "cpu" and case.precision == "fp16":
        return "fp16 autocast is a CUDA option here; on the CPU use bf16"
    if case.device == "cuda" and case.precision == "bf16" and not torch.cuda.is_bf16_supported():
        return f"bf16 requested, but {torch.cuda.get_device_name(0)} does not support it"
    return None


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError | MemoryError) or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)
    )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
