"""A tiny pure-Python package in a real local git repository, one commit per version of
its module, that uv builds from `git+file://...@<sha>`."""

from __future__ import annotations

import subprocess
from pathlib import Path

NAME = "segbench-test-gitpkg"
PYPROJECT = f"""[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{NAME}"
version = "0.1"
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def git_package_repo(repo: Path, commits: int) -> list[str]:
    """`repo` with `commits` commits ("change 1", ...), each setting STEP = k; their
    shas, oldest first."""
    module = repo / "src" / NAME.replace("-", "_")
    module.mkdir(parents=True)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    shas = []
    for k in range(1, commits + 1):
        (module / "__init__.py").write_text(f"STEP = {k}\n")
        _git(repo, "add", "-A")
        _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q",
             "-m", f"change {k}")
        shas.append(_git(repo, "rev-parse", "HEAD"))
    return shas
