"""Test-only faults planted through the environment, so that end-to-end tests can check that
a night catches them. Never set in production; a result measured with one is tagged."""

from __future__ import annotations

import os

# A slowdown inside the forward phase, in milliseconds per batch.
FORWARD_DELAY_VARIABLE = "SEGBENCH_TEST_FORWARD_DELAY_MS"


def forward_delay_s() -> float:
    return float(os.environ.get(FORWARD_DELAY_VARIABLE) or 0) / 1e3


def warnings() -> list[str]:
    """What to record with a result measured under a planted fault."""
    if os.environ.get(FORWARD_DELAY_VARIABLE):
        return [f"{FORWARD_DELAY_VARIABLE} is set: a planted test slowdown"]
    return []
