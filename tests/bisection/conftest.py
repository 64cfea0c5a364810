"""uv for the bisection tests: the real binary, a cache of the test's own (what uv finds
there is what the test wrote), and tiny wheels installed by their file:// URL."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path

import pytest
from databases import unavailable

from segtasks.envs.lock import Lock, Package
from segtasks.envs.uv import IndexSettings, UvMissing, find_uv
from segtasks.envs.wheels import write_wheel

PYTHON = platform.python_version()
NO_INDEX = IndexSettings(no_index=True)  # the wheels' own URLs only: nothing from a registry


@pytest.fixture
def uv_bin() -> str:
    try:
        return find_uv()
    except UvMissing as exc:
        unavailable(str(exc))  # skips here, fails on CI, where make install brings uv
        raise


@pytest.fixture
def uv_cache(uv_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "uv-cache"
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    return cache


def tiny(folder: Path, name: str, version: str, requires: Sequence[str] = ()) -> Package:
    """A package of one module from a tiny wheel written into `folder`."""
    module = name.replace("-", "_")
    wheel = write_wheel(folder, name, version, {f"{module}.py": f"VERSION = {version!r}\n"},
                        requires=requires)
    return Package(name, version, source=wheel.as_uri())


def lock(*packages: Package, python: str = PYTHON) -> Lock:
    return Lock(python, packages)
