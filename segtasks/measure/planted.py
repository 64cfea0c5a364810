"""Test-only faults planted through the environment, so that end-to-end tests can check that
a night catches them. Never set in production; a result measured with one is tagged.

- SEGBENCH_TEST_FORWARD_DELAY_MS: a slowdown inside the forward phase of every batch, in
  every process (a real regression, as far as the night can tell);
- SEGBENCH_TEST_ONE_OFF_DELAY_FILE: a file holding such a delay in milliseconds; the first
  measuring process to claim it deletes it, so only that one process is slow (a passing
  disturbance the validity checks do not see: what same-night confirmation is for).
"""

from __future__ import annotations

import os
from pathlib import Path

# A slowdown inside the forward phase, in milliseconds per batch.
FORWARD_DELAY_VARIABLE = "SEGBENCH_TEST_FORWARD_DELAY_MS"
# A torch.compile backend that fails, so that a compile failure can be tested on any machine.
COMPILE_FAILURE_VARIABLE = "SEGBENCH_TEST_COMPILE_FAILURE"
ONE_OFF_DELAY_VARIABLE = "SEGBENCH_TEST_ONE_OFF_DELAY_FILE"
# An export to an inference runtime that fails (segtasks.runtimes), on any machine.
EXPORT_FAILURE_VARIABLE = "SEGBENCH_TEST_EXPORT_FAILURE"

_claimed_ms: float = 0.0  # the one-off delay this process claimed, if any


def _claim_one_off() -> float:
    """The one-off delay (ms) when this process is the first to claim it, else 0. The file
    is renamed before it is read, so two processes cannot both claim it."""
    global _claimed_ms
    name = os.environ.get(ONE_OFF_DELAY_VARIABLE)
    if not name or _claimed_ms:
        return _claimed_ms
    mine = Path(f"{name}.{os.getpid()}")
    try:
        os.rename(name, mine)
    except FileNotFoundError:
        return 0.0
    _claimed_ms = float(mine.read_text().strip() or 0)
    mine.unlink()
    return _claimed_ms
# A bias added to the logits of every output check, the fp32 eager reference included: the
# model's outputs changed (parity still holds; the golden outputs catch it).
OUTPUT_SHIFT_VARIABLE = "SEGBENCH_TEST_PLANTED_OUTPUT_SHIFT"
# A bias added to the case's own logits only, not to the reference's: a configuration that
# changes the outputs (parity catches it).
CASE_OUTPUT_SHIFT_VARIABLE = "SEGBENCH_TEST_PLANTED_CASE_OUTPUT_SHIFT"
_TAGS = {
    COMPILE_FAILURE_VARIABLE: "a planted compile failure",
    EXPORT_FAILURE_VARIABLE: "a planted export failure",
    FORWARD_DELAY_VARIABLE: "a planted test slowdown",
    OUTPUT_SHIFT_VARIABLE: "a planted test output change (every output)",
    CASE_OUTPUT_SHIFT_VARIABLE: "a planted test output change (the case's own outputs)",
}


def forward_delay_s() -> float:
    return (float(os.environ.get(FORWARD_DELAY_VARIABLE) or 0) + _claim_one_off()) / 1e3


def compile_failure() -> bool:
    return bool(os.environ.get(COMPILE_FAILURE_VARIABLE))


def export_failure() -> bool:
    return bool(os.environ.get(EXPORT_FAILURE_VARIABLE))


def output_shift() -> float:
    return float(os.environ.get(OUTPUT_SHIFT_VARIABLE) or 0)


def case_output_shift() -> float:
    return float(os.environ.get(CASE_OUTPUT_SHIFT_VARIABLE) or 0)


def warnings() -> list[str]:
    """What to record with a result measured under a planted fault."""
    found = [f"{variable} is set: {tag}" for variable, tag in _TAGS.items()
             if os.environ.get(variable)]
    if _claimed_ms:
        found.append(f"{ONE_OFF_DELAY_VARIABLE}: this process took the planted one-off "
                     f"slowdown of {_claimed_ms:g} ms per batch")
    return found
