"""The fingerprint stored with every result.

The hardware key says which numbers are comparable; software versions and settings are
kept beside it, not in it, because a version change is what a nightly run must catch.
"""

from __future__ import annotations

import os
import platform
import subprocess
from functools import cache
from importlib import metadata
from typing import Any

from segtasks import __version__, paths

GIB = 2**30
_PACKAGES = ("torch", "torchvision", "segmentation-models-pytorch", "numpy",
             "opencv-python-headless", "scipy", "sqlalchemy", "apache-airflow")
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                     "CUDA_VISIBLE_DEVICES")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> list[dict[str, Any]]:
    """Name and memory of each CUDA device torch can see; empty when there are none."""
    import torch

    if not torch.cuda.is_available():
        return []
    found = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        found.append({"name": props.name, "memory_bytes": int(props.total_memory),
                      "capability": f"{props.major}.{props.minor}",
                      # bare hex, as torch prints it (torch >= 2.5); NVML finds the device by it
                      "uuid": str(props.uuid) if hasattr(props, "uuid") else None})
    return found


def hardware() -> dict[str, Any]:
    import psutil

    return {
        "cpu_model": cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True) or 0,
        "physical_cores": psutil.cpu_count(logical=False) or 0,
        "ram_bytes": int(psutil.virtual_memory().total),
        "gpus": gpus(),
    }


def hardware_key(hw: dict[str, Any]) -> str:
    """What must match for two results to be comparable: the machine, not its software."""
    cpu = (f"cpu={hw['cpu_model']} ({hw['logical_cores']} threads, {hw['physical_cores']} cores, "
           f"{round(hw['ram_bytes'] / GIB)} GiB)")
    devices = hw["gpus"]
    if not devices:
        return f"{cpu}; gpu=none"
    first = devices[0]
    return f"{cpu}; gpu={first['name']} x{len(devices)} ({round(first['memory_bytes'] / GIB)} GiB)"


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


def nvidia_driver() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            version = pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - no NVML library or no driver: simply unknown
        return None
    return version.decode() if isinstance(version, bytes) else str(version)


def software() -> dict[str, Any]:
    import torch

    return {
        "python": platform.python_version(),
        "os": platform.platform(),
        "nvidia_driver": nvidia_driver(),
        "cuda_runtime": torch.version.cuda,
        "cudnn": (torch.backends.cudnn.version()
                  if torch.backends.cudnn.is_available() else None),
        **{name: _version(name) for name in _PACKAGES},
    }


def settings() -> dict[str, Any]:
    """The run-time knobs that change speed without changing the code."""
    import torch

    from segtasks.measure import placement, precision

    return {
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        # read with the API they were set with: mixing the two can raise (measure.precision)
        **precision.recorded(torch.backends),
        "cpu_affinity": list(placement.allowed_cores()),
        **{name: os.environ.get(name) for name in _THREAD_VARIABLES},
    }


def fingerprint() -> dict[str, Any]:
    """Hardware, software and settings of this process, as stored next to each result."""
    hw = hardware()
    return {
        "hardware_key": hardware_key(hw),
        "hardware": hw,
        "software": software(),
        "settings": settings(),
        "code_version": code_version(),
    }
