"""How fp32 math is set per case, and what was set, on every torch this runs on.

`fp32` is strict IEEE fp32: TF32 off for cuDNN convolutions (on by default in PyTorch, so
"fp32" on Ampere and later was TF32 unless said otherwise) and cuBLAS matmuls. `tf32` turns
both on. Autocast cases (bf16, fp16) keep strict fp32 for the ops autocast leaves in fp32.

torch 2.9 brought a per-backend API (`torch.backends.cudnn.conv.fp32_precision = "ieee" |
"tf32"`); before it, only the `allow_tf32` flags exist. Mixing the two is unsafe: from
2.9 on, reading a legacy flag after setting the new API can raise ("you have used mix of
the legacy and new APIs"). So the new API is used, set and read, wherever it exists, and
the legacy flags only where it does not.
"""

from __future__ import annotations

from typing import Any


def fp32_mode(precision: str) -> str:
    """'tf32' or 'ieee': how fp32 math runs in a case of this precision."""
    return "tf32" if precision == "tf32" else "ieee"


def has_new_api(backends: Any) -> bool:
    """Whether this torch has the per-backend fp32_precision API (torch >= 2.9)."""
    conv = getattr(getattr(backends, "cudnn", None), "conv", None)
    matmul = getattr(getattr(backends, "cuda", None), "matmul", None)
    return hasattr(conv, "fp32_precision") and hasattr(matmul, "fp32_precision")


def _backends(backends: Any | None) -> Any:
    if backends is not None:
        return backends
    import torch

    return torch.backends


def apply(precision: str, backends: Any | None = None) -> dict[str, Any]:
    """Set fp32 math for a case of `precision` in this process; returns `recorded()`."""
    backends = _backends(backends)
    mode = fp32_mode(precision)
    if has_new_api(backends):
        backends.cudnn.conv.fp32_precision = mode
        backends.cudnn.rnn.fp32_precision = mode  # conv and rnn alike, or cudnn's getter raises
        backends.cuda.matmul.fp32_precision = mode
        mkldnn: Any = getattr(backends, "mkldnn", None)
        if hasattr(mkldnn, "fp32_precision"):
            mkldnn.fp32_precision = "ieee"  # CPU convolutions stay strict in every case
    else:
        backends.cudnn.allow_tf32 = mode == "tf32"
        backends.cuda.matmul.allow_tf32 = mode == "tf32"
    return recorded(backends)


def recorded(backends: Any | None = None) -> dict[str, Any]:
    """The fp32 math settings of this process, for the fingerprint, read with the same API
    they are set with."""
    backends = _backends(backends)
    if has_new_api(backends):
        conv = str(backends.cudnn.conv.fp32_precision)
        matmul = str(backends.cuda.matmul.fp32_precision)
        mkldnn = getattr(backends, "mkldnn", None)
        return {"fp32_precision_api": "fp32_precision", "cudnn_conv_fp32_precision": conv,
                "matmul_fp32_precision": matmul,
                "mkldnn_fp32_precision": str(getattr(mkldnn, "fp32_precision", None)),
                "cudnn_allow_tf32": conv == "tf32", "matmul_allow_tf32": matmul == "tf32"}
    return {"fp32_precision_api": "allow_tf32",
            "cudnn_allow_tf32": bool(backends.cudnn.allow_tf32),
            "matmul_allow_tf32": bool(backends.cuda.matmul.allow_tf32)}
