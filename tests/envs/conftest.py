"""uv for the environment tests: the real binary (a dependency of segbench), with a cache of
the test's own, so that what is cached, or not, is what the test put there."""

from __future__ import annotations

from pathlib import Path

import pytest
from databases import unavailable

from segtasks.envs.uv import UvMissing, find_uv


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
