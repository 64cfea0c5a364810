"""A bisection of one case: which changes between the control's environment and the
treatment's explain their paired verdict.

The groups are the commits of one package when the only change is that package's git
revision range (segtasks.bisect.commits), else the changed packages as uv groups them
(segtasks.bisect.groups). Each intermediate environment is built with uv
(segtasks.envs.build; a build that fails is a failed step, its one-line reason kept),
measured in pairs against the control (segtasks.pairs.measure: the same pairs and mode as
the full comparison, the seed moved on by the step's number) and judged by the night's
paired rule with the same minimum effect. Nothing is stored here: `on_step` sees each
step as it ends. Steps an earlier attempt stored (`done`) are reused by their lock's hash,
and their seconds count against the budget with this attempt's own.

A package bisection whose culprit is one package's git revision range does not go on into
its commits: a bisection of the two locks' that differ only there does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from time import monotonic

from segtasks.bisect.commits import commit_groups, git_range, lock_at_commit
from segtasks.bisect.errors import BudgetExhausted
from segtasks.bisect.groups import change_groups
from segtasks.bisect.locks import lock_moving
from segtasks.bisect.search import SearchResult, first_changing_commit, search_groups
from segtasks.domain.bisection import (
    Bisection,
    BisectionKind,
    BisectionStep,
    ChangeGroup,
)
from segtasks.domain.paired import PairMode
from segtasks.domain.verdicts import VerdictKind
from segtasks.envs.lock import Lock
from segtasks.envs.uv import IndexSettings
from segtasks.pairs.stats import PairedSummary
from segtasks.plan.case import Case

log = logging.getLogger(__name__)

FULL_STEP = 0  # the step number of the full comparison (the treatment): never measured here


def full_step(full: PairedSummary | BisectionStep, treatment: Lock, groups: int, *,
              min_effect: float, metric: str) -> BisectionStep:
    """The full comparison as a step moving every group (number FULL_STEP)."""
    if isinstance(full, BisectionStep):
        return full
    verdict, why = _judged(full, min_effect=min_effect, metric=metric)
    return BisectionStep(step=FULL_STEP, moved=tuple(range(groups)),
                         lock_sha256=treatment.sha256, verdict=verdict, pairs=full.n,
                         ratio=full.ratio, ci_low=full.ci_low, ci_high=full.ci_high,
                         mde=full.mde, reason=why)


def _judged(summary: PairedSummary, *, min_effect: float, metric: str) -> tuple[str, str]:
    from segtasks.pairs.verdict import judge_software, metric_of

    return judge_software(summary, min_effect=min_effect, metric=metric,
                          higher_is_better=metric_of(metric).higher_is_better)


def bisect_case(case: Case, *, control: Lock, treatment: Lock,
                full: PairedSummary | BisectionStep, inputs: Path, weights: Path,
                pairs: int, mode: PairMode | str, seed: int, min_effect: float,
                metric: str = "images_per_s", budget_s: float | None,
                done: Sequence[BisectionStep] = (),
                on_step: Callable[[BisectionStep], None] | None = None,
                settings: IndexSettings | None = None,
                timeout_s: float | None = None) -> Bisection:
    """Bisect `case`'s paired change from `control` to `treatment` (`full`: its summary,
    or its step); see the module's docstring. `settings`: the package indexes for uv
    (default pip's); `timeout_s`: each measuring process's limit."""
    found = git_range(control, treatment)
    if found is not None:
        kind, groups, commits = BisectionKind.COMMITS, commit_groups(found), found

        def lock_of(moved: frozenset[int]) -> Lock:
            return lock_at_commit(control, commits, groups[max(moved)].commit or "")
    else:
        kind = BisectionKind.PACKAGES
        groups = change_groups(control, treatment, settings=settings)

        def lock_of(moved: frozenset[int]) -> Lock:
            return lock_moving(control, treatment, groups, moved)

    whole = full_step(full, treatment, len(groups), min_effect=min_effect, metric=metric)
    stepper = _Stepper(case, control=control, lock_of=lock_of, inputs=inputs,
                       weights=weights, pairs=pairs, mode=PairMode(mode), seed=seed,
                       min_effect=min_effect, metric=metric, budget_s=budget_s, done=done,
                       on_step=on_step, settings=settings, timeout_s=timeout_s)

    def label(index: int) -> str:
        return ", ".join(groups[index].changes)

    indexes = [g.index for g in groups]
    search = (first_changing_commit if kind == BisectionKind.COMMITS else search_groups)
    result = search(indexes, whole, stepper.measure, label=label)
    log.info("%s: bisection over %d %s: %s", case.key, len(groups), kind.value,
             result.detail)
    return _bisection(case, control, treatment, kind, groups, whole, result, stepper,
                      min_effect=min_effect, metric=metric, budget_s=budget_s,
                      full=full)


def _bisection(case: Case, control: Lock, treatment: Lock, kind: BisectionKind,
               groups: tuple[ChangeGroup, ...], whole: BisectionStep,
               result: SearchResult, stepper: _Stepper, *, min_effect: float, metric: str,
               budget_s: float | None, full: PairedSummary | BisectionStep) -> Bisection:
    steps = {s.step: s for s in (*result.steps, *stepper.measured)}
    return Bisection(
        case_key=case.key, hardware_key=None, metric=metric, control_lock=control.sha256,
        treatment_lock=treatment.sha256, kind=kind, outcome=result.outcome, groups=groups,
        steps=tuple(steps[n] for n in sorted(steps)), culprit=result.culprit,
        effect_ratio=whole.ratio, effect_ci_low=whole.ci_low, effect_ci_high=whole.ci_high,
        min_effect=min_effect,
        confidence=full.confidence if isinstance(full, PairedSummary) else None,
        detail=result.detail, budget_s=budget_s, spent_s=stepper.spent_s(),
        # group index -> the number of the step that showed its effect or its absence
        # (FULL_STEP: the full comparison itself)
        extra={"evidence": {str(i): s.step for i, s in sorted(result.evidence.items())}})


class _Stepper:
    """The search's measure callback: one step per environment, reused when done."""

    def __init__(self, case: Case, *, control: Lock, lock_of: Callable[[frozenset[int]], Lock],
                 inputs: Path, weights: Path, pairs: int, mode: PairMode, seed: int,
                 min_effect: float, metric: str, budget_s: float | None,
                 done: Sequence[BisectionStep],
                 on_step: Callable[[BisectionStep], None] | None,
                 settings: IndexSettings | None, timeout_s: float | None) -> None:
        self.case, self.control, self.lock_of = case, control, lock_of
        self.inputs, self.weights, self.pairs, self.mode = inputs, weights, pairs, mode
        self.seed, self.min_effect, self.metric = seed, min_effect, metric
        self.budget_s, self.on_step = budget_s, on_step
        self.settings, self.timeout_s = settings, timeout_s
        self.done = {s.lock_sha256: s for s in done}
        self.done_s = sum(s.seconds or 0.0 for s in done)
        self.next_step = max((s.step for s in done), default=FULL_STEP) + 1
        self.started = monotonic()
        self.measured: list[BisectionStep] = []  # by this attempt
        self._control_python: str | None = None

    def spent_s(self) -> float:
        return self.done_s + monotonic() - self.started

    def measure(self, moved: frozenset[int]) -> BisectionStep:
        lock = self.lock_of(moved)
        if lock.sha256 in self.done:
            log.info("%s: step %d (lock %s) reused from an earlier attempt", self.case.key,
                     self.done[lock.sha256].step, lock.short)
            return self.done[lock.sha256]
        remaining = None if self.budget_s is None else self.budget_s - self.spent_s()
        if remaining is not None and remaining <= 0:
            raise BudgetExhausted(self.budget_s or 0.0, self.spent_s())
        number, self.next_step = self.next_step, self.next_step + 1
        step, exhausted = self._step(number, tuple(sorted(moved)), lock, remaining)
        self.measured.append(step)
        if self.on_step is not None:
            self.on_step(step)
        if exhausted:
            raise BudgetExhausted(self.budget_s or 0.0, self.spent_s(), step)
        return step

    def _step(self, number: int, moved: tuple[int, ...], lock: Lock,
              remaining: float | None) -> tuple[BisectionStep, bool]:
        from segtasks.envs.build import build, interpreter
        from segtasks.errors import SegbenchError
        from segtasks.pairs.measure import SideSpec, measure_pairs
        from segtasks.pairs.stats import paired_summary
        from segtasks.pairs.verdict import metric_of

        started = monotonic()
        try:
            python = str(build(lock, settings=self.settings))
        except SegbenchError as exc:  # EnvironmentBuildFailed, UvMissing: one line each
            return BisectionStep(step=number, moved=moved, lock_sha256=lock.sha256,
                                 verdict=VerdictKind.FAILED.value,
                                 seconds=monotonic() - started, reason=str(exc)), False
        if self._control_python is None:
            self._control_python = interpreter(self.control)
        outcome = measure_pairs(
            self.case, inputs=self.inputs, weights=self.weights,
            control=SideSpec(self._control_python, self.control.sha256),
            treatment=SideSpec(python, lock.sha256), pairs=self.pairs, mode=self.mode,
            seed=self.seed + number, budget_s=remaining, timeout_s=self.timeout_s)
        control_values, values = outcome.complete_pairs(self.metric)
        summary = paired_summary(control_values, values,
                                 higher_is_better=metric_of(self.metric).higher_is_better)
        verdict, why = _judged(summary, min_effect=self.min_effect, metric=self.metric)
        exhausted = outcome.budget_exhausted and verdict not in (
            VerdictKind.REGRESSION.value, VerdictKind.IMPROVEMENT.value,
            VerdictKind.UNCHANGED.value)
        if exhausted:
            verdict = VerdictKind.INCONCLUSIVE.value
            why = f"the budget ran out after {summary.n} complete pairs: {why}"
        decided = verdict in (VerdictKind.REGRESSION.value, VerdictKind.IMPROVEMENT.value,
                              VerdictKind.UNCHANGED.value)
        return BisectionStep(step=number, moved=moved, lock_sha256=lock.sha256,
                             verdict=verdict, pairs=summary.n, ratio=summary.ratio,
                             ci_low=summary.ci_low, ci_high=summary.ci_high, mde=summary.mde,
                             seconds=monotonic() - started,
                             reason=None if decided else why), exhausted
