"""uv for the environment tests: the real binary (a dependency of segbench), with a cache of
the test's own, so that what is cached, or not, is what the test put there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from databases import unavailable

from segtasks.envs.lock import Package
from segtasks.envs.uv import UvMissing, find_uv

from .tiny_index import ServedIndex, write_index

# the tiny index's packages (tests/envs/tiny_index.py)
ALPHA, BETA = Package("segbench-test-alpha", "1.0"), Package("segbench-test-beta", "2.0")
GAMMA = Package("segbench-test-gamma", "3.0")  # in the index, never fetched by the tests


@pytest.fixture
def uv_bin() -> str:
    try:
        return find_uv()
    except UvMissing as exc:
        unavailable(str(exc))  # skips here, fails on CI, where make install brings uv
        raise


@pytest.fixture
def uv_cache(uv_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty uv cache on the same filesystem as the test's var/envs (hard links)."""
    cache = tmp_path / "uv-cache"
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")  # a registry out of reach fails at once
    return cache


@pytest.fixture
def index(tmp_path: Path, uv_cache: Path) -> Iterator[ServedIndex]:
    """A registry of three tiny packages on localhost, and an empty uv cache."""
    served = ServedIndex(write_index(tmp_path / "index", {
        p.name: p.version for p in (ALPHA, BETA, GAMMA)}))
    yield served
    served.stop()
