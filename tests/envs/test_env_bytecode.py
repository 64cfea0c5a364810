"""Lending compiled bytecode to a new environment (segtasks.envs.bytecode): a .pyc is linked
where the new environment's processes look for it only when its source is the very same
file (one inode: uv's hard link from its cache), and never for a file that differs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from segtasks.envs.bytecode import _link_tree

TAG = f".{sys.implementation.cache_tag}.pyc"


def _module(root: Path, name: str, text: str) -> Path:
    source = root / "pkg" / f"{name}.py"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(text)
    cache = source.parent / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / f"{name}{TAG}").write_bytes(b"compiled " + text.encode())
    return source


def test_only_the_bytecode_of_shared_files_is_lent_where_the_new_environment_looks(tmp_path):
    here, there, prefix = tmp_path / "here", tmp_path / "there", tmp_path / "bytecode"
    shared = _module(here, "shared", "x = 1\n")
    _module(here, "changed", "y = 1\n")
    (there / "pkg").mkdir(parents=True)
    os.link(shared, there / "pkg" / "shared.py")  # as uv links a file from its cache
    (there / "pkg" / "changed.py").write_text("y = 2\n")  # another version of the module
    (here / "elsewhere").mkdir()  # a package the new environment lacks: not walked

    assert _link_tree(here, there, prefix) == 1
    cache = prefix / str(there / "pkg").lstrip(os.sep)
    lent = cache / f"shared{TAG}"
    assert lent.read_bytes() == b"compiled x = 1\n"
    assert os.stat(lent).st_ino == os.stat(here / "pkg" / "__pycache__" / f"shared{TAG}").st_ino
    assert not (cache / f"changed{TAG}").exists()
    assert _link_tree(here, there, prefix) == 0  # linked already: nothing twice
