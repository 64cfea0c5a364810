"""A verdict on one metric of one case of a night, with what it was judged against."""

from __future__ import annotations

from dataclasses import dataclass, field

from segtasks.judge.decide import METHOD

VERDICTS = ("regression", "improvement", "unchanged", "insufficient_history", "new",
            "missing", "failed", "disturbed",
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
