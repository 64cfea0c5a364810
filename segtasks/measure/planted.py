"""Test-only faults planted through the environment, so that end-to-end tests can check that
a night catches them. Never set in production; a result measured with one is tagged."""

from __future__ import annotations

import os

# A slowdown inside the forward phase, in milliseconds per batch.
FORWARD_DELAY_VARIABLE = "SEGBENCH_TEST_FORWARD_DELAY_MS"
# A bias added to the logits of every output check, the fp32 eager reference included: the
# model's outputs changed (parity still holds; the golden outputs catch it).
OUTPUT_SHIFT_VARIABLE = "SEGBENCH_TEST_PLANTED_OUTPUT_SHIFT"
# A bias added to the case's own logits only, not to the reference's: a configuration that
# changes the outputs (parity catches it).
CASE_OUTPUT_SHIFT_VARIABLE = "SEGBENCH_TEST_PLANTED_CASE_OUTPUT_SHIFT"
_TAGS = {
    FORWARD_DELAY_VARIABLE: "a planted test slowdown",
    OUTPUT_SHIFT_VARIABLE: "a planted test output change (every output)",
    CASE_OUTPUT_SHIFT_VARIABLE: "a planted test output change (the case's own outputs)",
}


def forward_delay_s() -> float:
    return float(os.environ.get(FORWARD_DELAY_VARIABLE) or 0) / 1e3


def output_shift() -> float:
    return float(os.environ.get(OUTPUT_SHIFT_VARIABLE) or 0)


def case_output_shift() -> float:
    return float(os.environ.get(CASE_OUTPUT_SHIFT_VARIABLE) or 0)


def warnings() -> list[str]:
    """What to record with a result measured under a planted fault."""
    return [f"{variable} is set: {tag}" for variable, tag in _TAGS.items()
            if os.environ.get(variable)]
