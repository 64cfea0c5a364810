"""Dense peak throughput of known accelerators, to put achieved GFLOP/s against a limit.

Figures are NVIDIA's datasheet numbers without sparsity, in TFLOP/s. For fp32 the
relevant peak is TF32 tensor-core throughput when cuDNN may use TF32 for convolutions
(PyTorch's default, torch.backends.cudnn.allow_tf32), else plain FP32 CUDA-core throughput.
Unknown devices (and CPUs) get no percentage rather than a guessed one.
"""

from __future__ import annotations

# name fragment (as torch.cuda.get_device_name reports it) -> peak TFLOP/s per math mode
_PEAKS: dict[str, dict[str, float]] = {
    "H200": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4},
    "H100 80GB HBM3": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4},  # SXM5
    "H100 NVL": {"fp32": 60.0, "tf32": 417.5, "bf16": 835.0, "fp16": 835.0},
    "H100 PCIe": {"fp32": 51.0, "tf32": 378.0, "bf16": 756.0, "fp16": 756.0},
    "A100": {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0},
}


def peak_tflops(gpu_name: str | None, precision: str, tf32_convs: bool) -> float | None:
    if not gpu_name:
        return None
    mode = "tf32" if precision == "fp32" and tf32_convs else precision
    for fragment, peaks in _PEAKS.items():
        if fragment in gpu_name:
            return peaks.get(mode)
    return None
