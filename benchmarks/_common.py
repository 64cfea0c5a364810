"""What the benchmark scripts share: the demo inputs and weights, made in a temp dir if absent."""

from __future__ import annotations

import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from segtasks import paths
from segtasks.measure.data import load_images, make_synthetic
from segtasks.measure.environment import cpu_model
from segtasks.measure.model import make_weights


def demo_inputs_and_weights() -> tuple[Path, Path]:
    inputs, weights = paths.inputs_dir(), paths.weights_path()
    if inputs.is_dir() and any(inputs.glob("*.png")) and weights.is_file():
        return inputs, weights
    tmp = Path(tempfile.mkdtemp(prefix="segbench-bench-"))
    make_synthetic(tmp / "inputs", count=64)
    return tmp / "inputs", make_weights(tmp / "weights_001.pt")


def images(inputs: Path) -> list:
    return load_images(inputs).images


def banner(title: str) -> None:
    import torch

    print(f"# {title}")
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cpu_model()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, python {platform.python_version()}")
    print(f"# command: {' '.join([Path(sys.executable).name, *sys.argv])}")
