"""The running environment's compiled bytecode, lent to an environment just built.

The first process of a recorded environment compiles every module it imports into the
environment's own bytecode folder (build.bytecode_env): for a case, about
3,100 modules of torch, timm, SciPy and the standard library, some 18 s of CPU of a 27 s
start on the development VM, once per environment: per paired night's control, per
intermediate environment of a bisection. uv
installs an environment from its cache by hard links: most of its files are this
environment's very files (one inode, so one mtime and size), for which the .pyc that this
environment's install compiled is valid. Hard-linking those .pyc where the new
environment's processes look spares each test that compile; a module whose file differs
(the planted package, tonight's harness) is still compiled by its first process, and a
.pyc that does not match its source is recompiled and replaced (Python checks each one),
never written through: the links are replaced by rename, this checkout's files untouched.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

BYTECODE_FOLDER = "bytecode"  # the .pyc an environment's processes write (build.bytecode_env)
_DONE = ".lent-from-the-running-environment"


def lend(python: str | Path) -> int:
    """Links this environment's .pyc into the bytecode folder of the environment whose
    interpreter is `python` (bin/python of a venv); the number linked (0 when done before,
    or when the two are on different filesystems)."""
    env = Path(python).absolute().parents[1]
    prefix = env / BYTECODE_FOLDER
    if (prefix / _DONE).exists():
        return 0
    paths = sysconfig.get_paths()
    site = Path(paths["purelib"])
    stdlib = Path(paths["stdlib"])  # the base interpreter's: both environments share it
    linked = 0
    try:
        for here, there in ((site, env / site.relative_to(sys.prefix)), (stdlib, stdlib)):
            linked += _link_tree(here, there, prefix)
    except OSError as exc:  # across filesystems: no links, the environment compiles
        if getattr(exc, "errno", None) != 18:  # EXDEV
            raise
    (prefix / _DONE).parent.mkdir(parents=True, exist_ok=True)
    (prefix / _DONE).write_text(f"{linked}\n")
    return linked


def _link_tree(here: Path, there: Path, prefix: Path) -> int:
    tag = f".{sys.implementation.cache_tag}.pyc"
    linked = 0
    for folder, subfolders, files in os.walk(here):
        if here != there and Path(folder) == here:
            # only the packages the new environment has too: a small one is linked quickly
            subfolders[:] = [s for s in subfolders if (there / s).exists()]
        if Path(folder).name != "__pycache__":
            # the standard library's site-packages is another environment's
            subfolders[:] = [s for s in subfolders if s != "site-packages" or here != there]
            continue
        source_dir = Path(folder).parent
        target_dir = there / source_dir.relative_to(here)
        cache = prefix / str(target_dir).lstrip(os.sep)  # where Python looks (pycache prefix)
        for name in files:
            if not name.endswith(tag):
                continue
            stem = name[:-len(tag)]
            try:
                same = os.stat(source_dir / f"{stem}.py").st_ino == \
                    os.stat(target_dir / f"{stem}.py").st_ino
            except FileNotFoundError:
                continue
            if not same:
                continue
            cache.mkdir(parents=True, exist_ok=True)
            try:
                os.link(Path(folder) / name, cache / name)
            except FileExistsError:
                continue
            linked += 1
    return linked
