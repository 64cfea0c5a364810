"""Test-only faults planted through the environment, so that end-to-end tests can check that
a night catches them. Never set in production; a result measured with one is tagged."""

from __future__ import annotations

import os

# A slowdown inside the forward phase, in milliseconds per batch.
FORWARD_DELAY_VARIABLE = "SEGBENCH_TEST_FORWARD_DELAY_MS"
# A torch.compile backend that fails, so that a compile failure can be tested on any machine.
COMPILE_FAILURE_VARIABLE = "SEGBENCH_TEST_COMPILE_FAILURE"


def forward_delay_s() -> float:
    return float(os.environ.get(FORWARD_DELAY_VARIABLE) or 0) / 1e3


def compile_failure() -> bool:
    return bool(os.environ.get(COMPILE_FAILURE_VARIABLE))


def warnings() -> list[str]:
    """What to record with a result measured under a planted fault."""
    found = []
    if os.environ.get(FORWARD_DELAY_VARIABLE):
        found.append(f"{FORWARD_DELAY_VARIABLE} is set: a planted test slowdown")
    if compile_failure():
        found.append(f"{COMPILE_FAILURE_VARIABLE} is set: a planted compile failure")
    return found
