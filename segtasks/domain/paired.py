"""The paired verdict of one case of a night, as plain values (segtasks.pairs makes it, the
store keeps it in `paired_verdicts`, the report, the pages and the alerts read it).

Two questions, answered apart: did tonight's software make the case slower than the
control's on this machine tonight (the paired ratio), and did the machine change (the
control's own series across nights)?
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# the run note of a night whose lock is the baseline night's: the only unpaired night that
# the report and the pages say ran "in the baseline night's lock"
SAME_AS_BASELINE = "same lock as the baseline night: not paired"


class PairMode(StrEnum):
    INTERLEAVED = "interleaved"  # one side after the other, in a random order per pair
    DUET = "duet"  # both sides at once, on disjoint cores


class Side(StrEnum):
    CONTROL = "control"
    TREATMENT = "treatment"


@dataclass(frozen=True)
class PairSide:
    """One measuring process of a pair (a row of `pairs`)."""

    pair: int
    position: int  # 0: measured first; in a duet both sides are 0
    side: Side
    lock_sha256: str
    mode: PairMode
    status: str  # a CaseResult status: "ok", "error", "skipped", ...
    reason: str | None = None
    images_per_s: float | None = None
    latency_p50_ms: float | None = None
    ci_rel: float | None = None
    n_batches: int | None = None
    valid: bool | None = None
    cpu_affinity: tuple[int, ...] = ()
    seconds: float | None = None


@dataclass(frozen=True)
class PairedVerdict:
    """A row of `paired_verdicts`. `ratio` is treatment over control of the metric (for
    images/s, below 1 is slower); `ci_low`/`ci_high` its interval; `mde` the smallest
    relative change these pairs could detect (90% power)."""

    case_key: str
    hardware_key: str | None
    metric: str
    control_lock: str
    treatment_lock: str
    mode: PairMode
    pairs: int
    verdict: str  # a VerdictKind value: regression, improvement, unchanged, ...
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    mde: float | None = None
    min_effect: float | None = None
    machine_verdict: str | None = None  # a VerdictKind value, from the control's series
    machine_change: float | None = None  # relative change of the control vs its nights
    machine_detail: str | None = None
    packages_changed: tuple[str, ...] = field(default_factory=tuple)
    detail: str | None = None
    budget_s: float | None = None
    spent_s: float | None = None
    run_pk: int | None = None  # set on values read back from the store

    @property
    def change(self) -> float | None:
        """Relative change of the metric, treatment against control (-0.061: 6.1% lower)."""
        return None if self.ratio is None else self.ratio - 1.0
