"""Dense peak throughput of known accelerators, to put achieved GFLOP/s against a limit.

Figures are NVIDIA's datasheet numbers without sparsity, in TFLOP/s, per math mode: fp32
(CUDA cores: strict IEEE, how segbench runs `fp32`), tf32, bf16 and fp16 (tensor cores).
Devices are matched by their exact name as torch reports it: the PCIe/NVL boards run at a
lower power and clock than the SXM ones of the same chip, and "H200 NVL" must not get the
SXM H200's peaks. A MIG instance (its name ends in e.g. "MIG 1g.18gb") has a fraction of
the chip's units: no peak is given. Unknown devices (and CPUs) get no percentage rather
than a guessed one.
"""

from __future__ import annotations

_H100_SXM = {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4}
_NVL = {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5, "fp16": 835.5}  # H100 NVL, H200 NVL
_A100 = {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0}

# torch.cuda.get_device_name() -> peak TFLOP/s per math mode
PEAKS: dict[str, dict[str, float]] = {
    "NVIDIA H200": _H100_SXM,  # SXM5: the same compute as the H100 SXM5
    "NVIDIA H200 NVL": _NVL,
    "NVIDIA H100 80GB HBM3": _H100_SXM,  # SXM5
    "NVIDIA H100 NVL": _NVL,
    "NVIDIA H100 PCIe": {"fp32": 51.0, "tf32": 378.0, "bf16": 756.0, "fp16": 756.0},
    "NVIDIA A100-SXM4-40GB": _A100,
    "NVIDIA A100-SXM4-80GB": _A100,
    "NVIDIA A100-PCIE-40GB": _A100,
    "NVIDIA A100 80GB PCIe": _A100,
}


def peak_tflops(gpu_name: str | None, precision: str, mig: bool = False) -> float | None:
    """The datasheet peak of the device for a case of `precision`, or None."""
    if not gpu_name or mig or "MIG" in gpu_name:
        return None
    return PEAKS.get(gpu_name.strip(), {}).get(precision)
