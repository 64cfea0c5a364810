"""Factories a model spec names in tests ("model_factories:tiny"): importable because the
tests put their own folder on sys.path (pytest's rootdir-relative import of tests/)."""

from __future__ import annotations

from typing import Any


def tiny() -> Any:
    """A two-class, three-channel network small enough to measure in a test."""
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 1))


def not_a_module() -> Any:
    return "a string, not an nn.Module"
