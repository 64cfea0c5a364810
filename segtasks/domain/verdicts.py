"""What a verdict can say, and the verdict on one metric of one case of a night.

The enum's values are what the `comparisons.verdict` column stores (and the views and the
migrations' frozen SQL name): a StrEnum, so a stored string and a member compare equal.
The judge makes `Verdict` values; the store hands the stored ones back as the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# the decision method stored with every verdict (segtasks.judge.decide describes it)
DECISION_METHOD = "robust-z-v3"


class VerdictKind(StrEnum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    UNCHANGED = "unchanged"
    UNCONFIRMED = "unconfirmed"  # screened, measured again, and the change did not hold
    # the night could not tell: a change the series judge did not flag on a night whose
    # MDE is far above the minimum effect (segtasks.judge.decide.cannot_tell), or a paired
    # interval that neither excludes no change nor lies within +-min_effect
    INCONCLUSIVE = "inconclusive"
    INSUFFICIENT_HISTORY = "insufficient_history"
    NEW = "new"
    MISSING = "missing"  # measured by the previous run, absent tonight
    FAILED = "failed"  # a case that never worked fails again
    DISTURBED = "disturbed"  # the machine did not leave the case alone: not compared
    # on outputs (segtasks.judge.outputs): parity, then the golden outputs
    OUTPUTS_DIFFER = "outputs_differ"
    OUTPUTS_MATCH = "outputs_match"
    OUTPUTS_CHANGED = "outputs_changed"
    OUTPUTS_UNCHANGED = "outputs_unchanged"
    GOLDEN_CREATED = "golden_created"


CHANGES = frozenset({VerdictKind.REGRESSION, VerdictKind.IMPROVEMENT})
VERDICTS = tuple(kind.value for kind in VerdictKind)


def alerted_on(verdict: VerdictKind, previous: str | None) -> bool | None:
    """Whether a regression is new tonight (alerted) or ongoing: the series' previous
    verdict on the metric was not a regression. None for any other verdict."""
    if verdict != VerdictKind.REGRESSION:
        return None
    return previous != VerdictKind.REGRESSION


def is_new_regression(verdict: str, alerted: bool | None) -> bool:
    """A regression to alert on and fail the night for: not one alerted on an earlier night
    (`alerted` False). Verdicts stored before `alerted` was recorded count as new."""
    return verdict == VerdictKind.REGRESSION and alerted is not False


@dataclass(frozen=True)
class Verdict:
    case_key: str
    hardware_key: str | None
    metric: str  # a judged metric, or "status" for the case's status itself
    verdict: VerdictKind
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
    method: str = DECISION_METHOD
    mde: float | None = None  # the smallest relative change this series sees (90% of the time)
    screened: bool | None = None  # close enough to the criterion to be measured again
    confirmed: bool | None = None  # None: not measured again
    first_value: float | None = None  # the first measurement alone
    process_values: list[float] | None = None  # every measuring process's value
    began_run_pk: int | None = None  # the night the change began
    alerted: bool | None = None  # a regression newly alerted tonight (not an ongoing one)
    run_pk: int | None = None  # the run it belongs to, once stored

    @property
    def is_new_regression(self) -> bool:
        return is_new_regression(self.verdict, self.alerted)

    @property
    def described(self) -> str:
        """The verdict in words with what its series can see, e.g. 'unchanged (this series
        sees changes of 3.1% or more)', 'inconclusive: this night cannot see changes under
        23.0%'."""
        if self.mde is None:
            return str(self.verdict)
        if self.verdict == VerdictKind.INCONCLUSIVE:
            return f"{self.verdict}: this night cannot see changes under {self.mde:.1%}"
        return f"{self.verdict} (this series sees changes of {self.mde:.1%} or more)"
