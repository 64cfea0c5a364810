"""A fingerprint (as segtasks.environment makes it) as an `environments` row."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint_sha256(fingerprint: dict[str, Any]) -> str:
    """Identity of a fingerprint: what the machine, its software and its settings were.

    The code version is left out: it belongs to the run, and a new commit on the same
    machine is the same environment.
    """
    identity = {k: fingerprint.get(k) for k in ("hardware", "software", "settings")}
    if not any(identity.values()):  # an old or partial row: its own JSON is all there is
        identity = {k: v for k, v in fingerprint.items() if k != "code_version"}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def environment_columns(fingerprint: dict[str, Any]) -> dict[str, Any]:
    hardware = fingerprint.get("hardware") or {}
    software = fingerprint.get("software") or {}
    gpus = hardware.get("gpus") or []
    first_gpu = gpus[0] if gpus else {}
    return {
        "fingerprint_sha256": fingerprint_sha256(fingerprint),
        "hardware_key": fingerprint.get("hardware_key") or "unknown",
        "cpu_model": hardware.get("cpu_model"),
        "logical_cores": hardware.get("logical_cores"),
        "physical_cores": hardware.get("physical_cores"),
        "ram_bytes": hardware.get("ram_bytes"),
        "gpu_name": first_gpu.get("name"),
        "gpu_count": len(gpus),
        "gpu_memory_bytes": first_gpu.get("memory_bytes"),
        "nvidia_driver": software.get("nvidia_driver"),
        "cuda_runtime": software.get("cuda_runtime"),
        "cudnn": None if software.get("cudnn") is None else str(software["cudnn"]),
        "torch_version": software.get("torch"),
        "torchvision_version": software.get("torchvision"),
        "smp_version": software.get("segmentation-models-pytorch"),
        "numpy_version": software.get("numpy"),
        "python_version": software.get("python"),
        "os": software.get("os"),
        "fingerprint": fingerprint,
    }
