"""Run parameters, their validation, and the grid of cases (no torch here)."""

from segtasks.plan.case import Case
from segtasks.plan.validate import NightParams, ParamError, validate

__all__ = ["Case", "NightParams", "ParamError", "validate"]
