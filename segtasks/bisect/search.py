"""The search of a bisection: which groups explain the full effect. Pure, no I/O: the
caller's `measure(moved)` builds and measures the environment with the groups `moved` at
the treatment's versions against the control (memoizing and storing as it likes) and
returns its step.

Over change groups (`search_groups`), adaptive halving:

- the candidates (at first every group) are split in halves, the first half the lower
  indexes; each half is measured moved on top of a background of groups known to be
  needed (at first none);
- a half *shows* the effect when its step's verdict has the full effect's direction
  (regression, or improvement), and *shows none* otherwise (unchanged, or the other
  direction, or an interval too wide for `unchanged` that still lies on the near side of
  half the full change: segtasks.domain.bisection.rules_out_the_effect): a step that
  cannot tell (inconclusive either way) stops the search, INCONCLUSIVE, and
  one whose environment failed stops it, FAILED, the detail saying what was measured;
- one half shows, the other none: the search goes into the half that shows;
- both show: into both; when more than one group ends named, the outcome is SEVERAL
  (each explains part of the effect);
- neither shows, while the whole does: the effect needs groups of both halves; the search
  goes into each half with the other moved as background, and the outcome is TOGETHER;
- one candidate left: it is a culprit (the step that showed it is its evidence).

Nothing is measured twice (a memo by the set moved), nor what is known: every group
moved is the treatment, whose step is the full effect. A `BudgetExhausted` from the
callback ends the search INCONCLUSIVE, keeping the steps measured. For each group the
result keeps the step that showed its effect or its absence, so that a report can say
"numpy 2.3.4 -> 2.3.5: no effect (+0.2% +-1.0%)".

Over commits (`first_changing_commit`), the classic first-bad-commit binary search: the
environment at commit k moves commits 0..k (the package at commit k); the control (no
commit) shows no effect, the last commit (the treatment) shows it; the first commit whose
environment shows it is the culprit. A step that cannot tell, or that moves the other way
(no single changing commit), ends it INCONCLUSIVE.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from segtasks.bisect.errors import BudgetExhausted, NotBisectable
from segtasks.domain.bisection import BisectionOutcome, BisectionStep, rules_out_the_effect
from segtasks.domain.verdicts import VerdictKind

Measure = Callable[[frozenset[int]], BisectionStep]
DIRECTIONS = (VerdictKind.REGRESSION.value, VerdictKind.IMPROVEMENT.value)


@dataclass(frozen=True)
class SearchResult:
    outcome: BisectionOutcome
    culprit: tuple[int, ...]
    steps: tuple[BisectionStep, ...]  # in the order measured
    detail: str  # one line
    # group index -> the step that showed its effect (a culprit) or its absence; the full
    # comparison's step where that is what tells (a single group)
    evidence: dict[int, BisectionStep] = field(default_factory=dict)


class _Stop(Exception):
    """A step ends the search: it could not tell, or its environment failed."""

    def __init__(self, outcome: BisectionOutcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome, self.detail = outcome, detail


def _label_default(index: int) -> str:
    return f"group {index}"


def describe(step: BisectionStep) -> str:
    """'+6.0% +-1.1%': a step's change with its interval's half width."""
    if step.change is None:
        return step.verdict
    if step.ci_low is None or step.ci_high is None:
        return f"{step.change:+.1%}"
    return f"{step.change:+.1%} +-{(step.ci_high - step.ci_low) / 2:.1%}"


class _Memo:
    """The steps of one search: each set measured once, the whole known beforehand."""

    def __init__(self, everything: frozenset[int], full: BisectionStep, measure: Measure,
                 label: Callable[[int], str]) -> None:
        self._known = {everything: full}
        self.full = full
        self._measure, self._label = measure, label
        self.steps: list[BisectionStep] = []

    def look(self, moved: frozenset[int]) -> BisectionStep:
        if moved in self._known:
            return self._known[moved]
        step = self._measure(moved)
        self._known[moved] = step
        self.steps.append(step)
        if step.verdict == VerdictKind.FAILED.value:
            raise _Stop(BisectionOutcome.FAILED,
                        f"step {step.step} ({self.moving(moved)}) failed: "
                        f"{step.reason or 'no reason given'}")
        if (step.verdict not in (*DIRECTIONS, VerdictKind.UNCHANGED.value)
                and not rules_out_the_effect(step, self.full.ratio)):
            raise _Stop(BisectionOutcome.INCONCLUSIVE,
                        f"step {step.step} ({self.moving(moved)}) could not tell: "
                        f"{step.reason or step.verdict}")
        return step

    def moving(self, moved: frozenset[int]) -> str:
        if not moved:
            return "nothing moved"
        return "moving " + ", ".join(self._label(i) for i in sorted(moved))


def _out_of_budget(exc: BudgetExhausted, memo: _Memo,
                   evidence: dict[int, BisectionStep]) -> SearchResult:
    if isinstance(exc.step, BisectionStep):  # measured in part: kept with the others
        memo.steps.append(exc.step)
    return SearchResult(BisectionOutcome.INCONCLUSIVE, (), tuple(memo.steps),
                        f"budget of {exc.budget_s:.0f} s spent after {_steps(memo)}",
                        evidence)


def _steps(memo: _Memo) -> str:
    return f"{len(memo.steps)} step{'s' if len(memo.steps) != 1 else ''}"


def _direction(full: BisectionStep) -> str:
    if full.verdict not in DIRECTIONS:
        raise NotBisectable(f"the full change is {full.verdict}, not a regression or an "
                            "improvement: nothing to bisect")
    return full.verdict


def search_groups(groups: Sequence[int], full: BisectionStep, measure: Measure, *,
                  label: Callable[[int], str] = _label_default) -> SearchResult:
    """Which of `groups` (indexes) explain `full` (the treatment against the control,
    every group moved): see the module's docstring."""
    direction = _direction(full)
    everything = frozenset(groups)
    memo = _Memo(everything, full, measure, label)
    evidence: dict[int, BisectionStep] = {}
    flags = {"together": False, "several": False}

    def shows(step: BisectionStep) -> bool:
        return step.verdict == direction

    def find(candidates: list[int], background: frozenset[int]) -> list[int]:
        if len(candidates) == 1:
            evidence[candidates[0]] = memo.look(background | {candidates[0]})
            return candidates
        half = len(candidates) // 2
        first, second = candidates[:half], candidates[half:]
        steps = [memo.look(background | frozenset(part)) for part in (first, second)]
        showing = [shows(s) for s in steps]
        if all(showing):
            flags["several"] = True
            return find(first, background) + find(second, background)
        if any(showing):
            inside, outside = (first, second) if showing[0] else (second, first)
            for index in outside:
                evidence.setdefault(index, steps[1] if showing[0] else steps[0])
            return find(inside, background)
        flags["together"] = True
        return (find(first, background | frozenset(second))
                + find(second, background | frozenset(first)))

    try:
        culprit = tuple(sorted(find(sorted(everything), frozenset())))
    except BudgetExhausted as exc:
        return _out_of_budget(exc, memo, evidence)
    except _Stop as stop:
        return SearchResult(stop.outcome, (), tuple(memo.steps), stop.detail, evidence)
    if flags["together"] and len(culprit) > 1:
        outcome = BisectionOutcome.TOGETHER  # each culprit's evidence: all of them moved
    elif len(culprit) > 1:
        outcome = BisectionOutcome.SEVERAL
    else:
        outcome = BisectionOutcome.CULPRIT
    named = "; ".join(f"{label(i)}, {describe(evidence[i])}" for i in culprit)
    return SearchResult(outcome, culprit, tuple(memo.steps),
                        f"{outcome.value}: {named} ({_steps(memo)})", evidence)


def first_changing_commit(commits: Sequence[int], full: BisectionStep, measure: Measure, *,
                          label: Callable[[int], str] = _label_default) -> SearchResult:
    """The first of `commits` (indexes, oldest first) whose environment shows `full`'s
    effect; measure(frozenset(commits[:k + 1])) is the package at commit k."""
    direction = _direction(full)
    ordered = sorted(commits)
    memo = _Memo(frozenset(ordered), full, measure, label)
    evidence: dict[int, BisectionStep] = {}
    good, bad = -1, len(ordered) - 1  # positions: the control shows nothing, the last does
    try:
        while bad - good > 1:
            middle = (good + bad) // 2
            step = memo.look(frozenset(ordered[:middle + 1]))
            if step.verdict == direction:
                bad = middle
            elif step.verdict == VerdictKind.UNCHANGED.value:
                good = middle
                evidence[ordered[middle]] = step
            else:
                raise _Stop(BisectionOutcome.INCONCLUSIVE,
                            f"step {step.step} (at {label(ordered[middle])}) moves the "
                            f"other way ({step.verdict}): no single changing commit")
    except BudgetExhausted as exc:
        return _out_of_budget(exc, memo, evidence)
    except _Stop as stop:
        return SearchResult(stop.outcome, (), tuple(memo.steps), stop.detail, evidence)
    culprit = ordered[bad]
    evidence[culprit] = memo.look(frozenset(ordered[:bad + 1]))  # measured, or the full
    return SearchResult(BisectionOutcome.CULPRIT, (culprit,), tuple(memo.steps),
                        f"first changing commit: {label(culprit)}, "
                        f"{describe(evidence[culprit])} ({_steps(memo)})", evidence)
