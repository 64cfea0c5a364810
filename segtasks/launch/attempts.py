"""A disturbed case is measured once more, in a fresh process, before it is stored.

A case is disturbed when the machine did not leave it alone while it was timed (other
processes on its cores, steal time, another process on its GPU, clocks cut for heat:
segtasks.measure.validity). One more attempt, started after the first has ended, gives a
passing disturbance the chance to be gone; if the second attempt is disturbed too, it is
stored as not valid, with its cause, and the judge calls it `disturbed` rather than
comparing it. Either way the first attempt's evidence is kept with the stored result.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from segtasks.plan.case import Case
from segtasks.result import CaseResult, Validity

log = logging.getLogger(__name__)


def run_case_checked(case: Case, inputs: Path, weights: Path,
                     timeout_s: float | None = None, watch_pid: int | None = None,
                     python: str | None = None, headline_only: bool = False) -> CaseResult:
    """The case measured in its own process, and once more if that attempt was disturbed.
    `python`: another environment's interpreter; `headline_only`: the timed loop only
    (segtasks.launch.isolated)."""
    from segtasks import launch  # looked up at call time, so that tests can stand in for it

    watching: dict[str, Any] = {"watch_pid": watch_pid} if watch_pid is not None else {}
    if python is not None:
        watching["python"] = python
    if headline_only:
        watching["headline_only"] = True
    first = launch.run_case_isolated(case, inputs, weights, timeout_s=timeout_s, **watching)
    if not first.disturbed:
        return first
    assert first.validity is not None
    log.warning("%s was disturbed (%s): measuring it again in a fresh process", case.key,
                first.validity.validity_reason)
    second = launch.run_case_isolated(case, inputs, weights, timeout_s=timeout_s, **watching)
    return combine(first, second)


def combine(first: CaseResult, second: CaseResult) -> CaseResult:
    """The result to store after a disturbed first attempt: the second, with the first's
    evidence; or the first, marked, if the second did not measure at all."""
    assert first.validity is not None

    def with_evidence(validity: Validity) -> Validity:
        assert first.validity is not None
        return replace(validity, attempts=2,
                       first_attempt_reason=first.validity.validity_reason,
                       first_attempt_interference=first.validity.interference,
                       first_attempt_steal=first.validity.steal)

    note = f"attempt 1 was disturbed ({first.validity.validity_reason}); measured again"
    if second.status != "ok":
        # keep the measured (if disturbed) figures rather than lose them to a failed retry
        first.validity = with_evidence(first.validity)
        first.warnings = [*first.warnings,
                          f"{note}, but attempt 2 ended {second.status}: {second.reason}"]
        return first
    second.validity = with_evidence(second.validity or Validity(valid=True))
    verdict = "still disturbed" if second.disturbed else "undisturbed"
    second.warnings = [*second.warnings, f"{note}: attempt 2 {verdict}"]
    return second
