"""The environment the nights run in, built again from its lock with the planted package
added: from uv's real cache and this machine's package indexes, sharing torch's files with
the cache instead of copying them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from segtasks.envs.build import BYTECODE_FOLDER, build
from segtasks.envs.planted import MODULE, NAME, lock_with, planted_slowdown_wheel
from segtasks.envs.snapshot import current, snapshot
from segtasks.launch.isolated import harness_env


@pytest.mark.slow
def test_this_environments_lock_with_the_planted_package_is_built_from_uvs_cache(
        uv_bin, tmp_path):
    lock = lock_with(current(), planted_slowdown_wheel(5, tmp_path / "wheels"))
    python = build(lock, tmp_path / "envs")
    assert snapshot(str(python)).sha256 == lock.sha256
    probe = ("import json, sys, torch, segmentation_models_pytorch as smp\n"
             f"print(json.dumps([torch.__file__, {MODULE!r} in sys.modules, "
             "hasattr(smp.UnetPlusPlus.__call__, '__segbench_planted_slowdown__')]))")
    # as a case's process runs in it (segtasks.launch.isolated.harness_env)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
           "PYTHONDONTWRITEBYTECODE": "1", **harness_env(str(python))}
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    torch_file, hooked, patched = json.loads(done.stdout)
    assert Path(torch_file).is_relative_to(python.parents[1])  # its own torch, not ours
    assert hooked and patched, f"{NAME} did not patch UnetPlusPlus"
    # not compiled at build time (the whole lock's bytecode: 41 s of CPU here); the first
    # process wrote the bytecode of what it imported into the environment's own folder,
    # where the next one finds it; the installed tree stays as it was
    kept = python.parents[1] / BYTECODE_FOLDER
    assert list((kept / Path(torch_file).parent.relative_to("/")).glob("__init__.*.pyc"))
    assert not list((Path(torch_file).parent / "__pycache__").glob("__init__.*.pyc"))
    cache = Path(subprocess.run([uv_bin, "cache", "dir"], capture_output=True, text=True,
                                check=True).stdout.strip())
    if cache.exists() and cache.stat().st_dev == tmp_path.stat().st_dev:
        # torch's files are the cache's, linked: a second environment costs no disk
        assert Path(torch_file).stat().st_nlink > 1
