"""A verdict on one metric of one case of a night, with what it was judged against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segtasks.judge.decide import METHOD

VERDICTS = ("regression", "improvement", "unchanged", "unconfirmed", "insufficient_history",
            "new", "missing", "failed", "disturbed",
            # on outputs (segtasks.judge.outputs): parity, then the golden outputs
            "outputs_differ", "outputs_match", "outputs_changed", "outputs_unchanged",
            "golden_created")


@dataclass(frozen=True)
class Verdict:
    case_key: str
    hardware_key: str | None
    metric: str  # a judged metric, or "status" for the case's status itself
    verdict: str
    min_effect: float | None = None
    z_threshold: float | None = None
    direction: str | None = None
    tonight: float | None = None
    baseline: float | None = None
    relative_change: float | None = None
    noise: float | None = None
    z: float | None = None
    rank_p: float | None = None
    baseline_run_pks: list[int] = field(default_factory=list)
    baseline_values: list[float] | None = None
    software_changes: list[str] | None = None
    detail: str | None = None
    method: str = METHOD
    mde: float | None = None  # the smallest relative change this series sees (90% of the time)
    screened: bool | None = None  # close enough to the criterion to be measured again
    confirmed: bool | None = None  # None: not measured again
    first_value: float | None = None  # the first measurement alone
    process_values: list[float] | None = None  # every measuring process's value
    began_run_pk: int | None = None  # the night the change began
    alerted: bool | None = None  # a regression newly alerted tonight (not an ongoing one)



def described(verdict: Any) -> str:
    """A verdict in words with what its series can see, e.g. 'unchanged (this series sees
    changes of 3.1% or more)'; works on Verdict values and stored comparisons alike."""
    mde = getattr(verdict, "mde", None)
    if mde is None:
        return verdict.verdict
    return f"{verdict.verdict} (this series sees changes of {mde:.1%} or more)"
