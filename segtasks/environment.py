"""The fingerprint stored with every result.

The hardware key says which numbers are comparable; software versions are kept
beside it, not in it, because a version change is what a nightly run must catch.
"""

from __future__ import annotations

import os
import platform
import subprocess
from functools import cache
from importlib import metadata
from typing import Any

from segtasks import __version__, paths

_PACKAGES = ("torch", "torchvision", "segmentation-models-pytorch", "numpy",
             "opencv-python-headless", "sqlalchemy", "apache-airflow")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> list[str]:
    """Names of the CUDA devices torch can see; empty when there are none."""
    import torch

    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def hardware_key(cpu: str, logical_cores: int, gpu_names: list[str]) -> str:
    gpu = f"{gpu_names[0]} x{len(gpu_names)}" if gpu_names else "none"
    return f"cpu={cpu} ({logical_cores} threads); gpu={gpu}"


@cache
def code_version() -> str:
    if os.environ.get("SEGBENCH_CODE_VERSION"):
        return os.environ["SEGBENCH_CODE_VERSION"]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=paths.home(),
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.home(),
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return f"segbench-{__version__}"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def fingerprint() -> dict[str, Any]:
    """Hardware, software and settings of this process, as stored next to each result."""
    import torch

    gpu_names = gpus()
    cores = os.cpu_count() or 0
    return {
        "hardware_key": hardware_key(cpu_model(), cores, gpu_names),
        "hardware": {"cpu_model": cpu_model(), "logical_cores": cores, "gpus": gpu_names},
        "software": {
            "python": platform.python_version(),
            "os": platform.platform(),
            "cuda_runtime": torch.version.cuda,
            "cudnn": (torch.backends.cudnn.version()
                      if torch.backends.cudnn.is_available() else None),
            **{name: _version(name) for name in _PACKAGES},
        },
        "settings": {
            "torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        },
        "code_version": code_version(),
    }
