"""A bisection, as plain values: which of the changes between a control and a treatment
environment explains a paired regression (or improvement).

segtasks.bisect makes these values; the store keeps them in `bisections` and
`bisection_steps`; the report, the pages and the alerts read them. A change group is what
must move together from the control's lock to the treatment's for an environment to
resolve (uv decides: torch moves with torchvision and triton), or one commit of a package
installed from a git revision range. A step is one intermediate environment (the control
with some groups moved to the treatment's versions) measured in pairs against the control,
with the same paired rule and minimum effect as the night.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


class BisectionKind(StrEnum):
    PACKAGES = "packages"  # groups of distributions that differ between the two locks
    COMMITS = "commits"  # commits of one package installed from a git revision range


class BisectionOutcome(StrEnum):
    CULPRIT = "culprit"  # one group explains the effect within its interval
    TOGETHER = "together"  # the effect needs several groups at once (none alone shows it)
    SEVERAL = "several"  # several groups each explain part of the effect
    INCONCLUSIVE = "inconclusive"  # the budget or the noise did not allow a call
    FAILED = "failed"  # an environment could not be built or measured: the reason says


@dataclass(frozen=True)
class ChangeGroup:
    """Changes that move together. `index` orders the groups of a bisection (0-based);
    `changes` are package_changes' lines ("torch 2.14.0 -> 2.14.1") or, for a commit,
    "<package> <short sha>: <subject>"."""

    index: int
    changes: tuple[str, ...]
    packages: tuple[str, ...] = ()  # normalized names of the distributions it moves
    commit: str | None = None  # the full sha, for a commit group


@dataclass(frozen=True)
class BisectionStep:
    """One intermediate environment measured against the control. `moved`: the indexes of
    the groups at the treatment's versions; `verdict` a VerdictKind value by the paired
    rule (regression, improvement, unchanged, inconclusive, failed); `ratio` treatment
    (this environment) over control of `metric` with its interval and MDE."""

    step: int
    moved: tuple[int, ...]
    lock_sha256: str
    verdict: str
    pairs: int = 0
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    mde: float | None = None
    seconds: float | None = None
    reason: str | None = None  # why a step failed or could not tell

    @property
    def change(self) -> float | None:
        return None if self.ratio is None else self.ratio - 1.0


@dataclass(frozen=True)
class Bisection:
    """A row of `bisections` with its groups and steps. `culprit`: the indexes of the
    groups that explain the effect (empty unless outcome is culprit, together or
    several); `effect_*`: the full change's paired ratio (the treatment against the
    control) the bisection set out to explain; `confidence` the level of every interval."""

    case_key: str
    hardware_key: str | None
    metric: str
    control_lock: str
    treatment_lock: str
    kind: BisectionKind
    outcome: BisectionOutcome
    groups: tuple[ChangeGroup, ...] = ()
    steps: tuple[BisectionStep, ...] = ()
    culprit: tuple[int, ...] = ()
    effect_ratio: float | None = None
    effect_ci_low: float | None = None
    effect_ci_high: float | None = None
    min_effect: float | None = None
    confidence: float | None = None
    detail: str | None = None  # one line: what was found, or why it could not tell
    budget_s: float | None = None
    spent_s: float | None = None
    run_pk: int | None = None
    extra: dict[str, object] = field(default_factory=dict)
    # set on values read back from the store: its row has no finished_at yet (still going,
    # or stopped before finishing and waiting to be resumed)
    running: bool = False

    def group(self, index: int) -> ChangeGroup:
        return next(g for g in self.groups if g.index == index)


def rules_out_the_effect(step: BisectionStep, effect_ratio: float | None) -> bool:
    """Whether a step whose paired verdict cannot say `unchanged` (its interval is wider
    than +-min_effect: a few pairs on a noisy machine) still rules out that it carries the
    effect being bisected: its whole interval lies on the near side of half the full change
    (on the log scale: the geometric midpoint of no change and the full ratio). Then it is
    not where the effect lives, which is all a bisection step must tell; a step that
    neither shows the effect nor rules it out stops the bisection, inconclusive."""
    if (effect_ratio is None or effect_ratio <= 0 or effect_ratio == 1
            or step.ci_low is None or step.ci_high is None):
        return False
    half = math.sqrt(effect_ratio)
    return step.ci_low > half if effect_ratio < 1 else step.ci_high < half
