"""Only segtasks.measure (run in a case's own process) loads torch, OpenCV or smp.

Airflow parses the DAG file often and runs planning, storing, judging and reporting in
its task processes: none of them may pay for, or depend on, the measuring stack.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "cv2", "segmentation_models_pytorch")

CHECK = """
import importlib, pkgutil, runpy, sys
target = sys.argv[1]
if target.endswith(".py"):
    runpy.run_path(target)
else:
    package = importlib.import_module(target)
    for found in pkgutil.walk_packages(getattr(package, "__path__", []), target + "."):
        if ".migrations" not in found.name:
            importlib.import_module(found.name)
heavy = sorted(set(sys.argv[2:]) & set(sys.modules))
assert not heavy, f"{target} loaded {heavy}"
"""


@pytest.mark.parametrize("target", [
    "segtasks.plan", "segtasks.store", "segtasks.judge", "segtasks.report", "segtasks.launch",
    "segtasks.nightly", "segtasks.cli", "segtasks.result", "segtasks.ui",
    str(ROOT / "dags" / "segbench_nightly.py"),
])
def test_importing_loads_no_heavy_library(target):
    subprocess.run([sys.executable, "-c", CHECK, target, *HEAVY], check=True, cwd=ROOT)


def test_the_measuring_package_is_where_torch_lives():
    done = subprocess.run([sys.executable, "-c", CHECK, "segtasks.measure", *HEAVY],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0 and "loaded" in done.stderr
