"""A bisection in one sentence, e.g.

    culprit: torch 2.14.0 -> 2.14.1 (with torchvision 0.29.0 -> 0.29.1): 6.0% slower
    +-1.1%; numpy 2.3.4 -> 2.3.5: no effect (0.2% faster +-1.0%)

Each group's effect is read from the step that tells it: the step that moved exactly that
group, else the smallest measured step that moved it (for a group beside the culprit, one
that moved no culprit group: a step with the culprit in it says nothing about the others).
Pure: the report, the pages and the alerts all say it so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from segtasks.domain.bisection import (
    Bisection,
    BisectionOutcome,
    BisectionStep,
    ChangeGroup,
    rules_out_the_effect,
)
from segtasks.domain.verdicts import CHANGES, VerdictKind
from segtasks.report.paired import moved

FAILED = "failed"


def group_label(g: ChangeGroup) -> str:
    """A group by its first change, the ones that move with it in brackets."""
    if not g.changes:
        return f"group {g.index}"
    first, *rest = g.changes
    return first + (f" (with {', '.join(rest)})" if rest else "")


def step_half_width(s: BisectionStep) -> float | None:
    """Half the step's interval width, relative to the control (the "+-" of its change)."""
    if s.ci_low is None or s.ci_high is None:
        return None
    return (s.ci_high - s.ci_low) / 2


def _measured(s: BisectionStep) -> bool:
    return s.verdict != FAILED and s.ratio is not None


def telling_step(b: Bisection, indexes: Iterable[int], avoid: Iterable[int] = ()
                 ) -> BisectionStep | None:
    """The step that tells the effect of moving the groups `indexes`: the last measured
    one that moved exactly them, else the smallest measured one that moved them and none
    of `avoid`, else a failed one that moved exactly them (to say why); None if none."""
    want, avoided = set(indexes), set(avoid)
    exact = [s for s in b.steps if set(s.moved) == want]
    if measured := [s for s in exact if _measured(s)]:
        return measured[-1]
    containing = [s for s in b.steps if _measured(s) and want <= set(s.moved)
                  and not set(s.moved) & avoided]
    if containing:
        return min(containing, key=lambda s: (len(s.moved), s.step))
    return exact[-1] if exact else None


def step_effect(metric: str, s: BisectionStep) -> str:
    """"6.0% slower +-1.1%" for a change, "no effect (0.2% faster +-1.0%)" for none."""
    if s.verdict == FAILED or s.change is None:
        return f"failed: {s.reason}" if s.verdict == FAILED and s.reason else str(s.verdict)
    width = step_half_width(s)
    said = moved(metric, s.change) + ("" if width is None else f" +-{width:.1%}")
    if s.verdict in CHANGES:
        return said
    if s.verdict == VerdictKind.UNCHANGED:
        return f"no effect ({said})"
    return f"{str(s.verdict).replace('_', ' ')} ({said})"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _effect_of(b: Bisection, indexes: Iterable[int], avoid: Iterable[int] = (),
               unmeasured: str = "not measured") -> str:
    step = telling_step(b, indexes, avoid)
    if step is None:
        return unmeasured
    if (step.verdict == VerdictKind.INCONCLUSIVE and step.change is not None
            and rules_out_the_effect(step, b.effect_ratio)):
        # too few pairs for "no effect", enough to rule out the effect bisected
        width = step_half_width(step)
        said = moved(b.metric, step.change) + ("" if width is None else f" +-{width:.1%}")
        return f"not the effect ({said}: less than half of it)"
    return step_effect(b.metric, step)


def _others(b: Bisection) -> list[str]:
    """The groups beside the culprit, each with what its own step said."""
    culprit = set(b.culprit)
    return [f"{group_label(g)}: "
            + _effect_of(b, [g.index], culprit, "not measured apart from the culprit")
            for g in sorted(b.groups, key=lambda g: g.index) if g.index not in culprit]


def _steps_said(b: Bisection) -> list[str]:
    """What was measured, step by step: the groups it moved and their effect together."""
    labels = {g.index: group_label(g) for g in b.groups}
    return [f"{' + '.join(labels.get(i, f'group {i}') for i in sorted(s.moved))}: "
            f"{step_effect(b.metric, s)}" for s in b.steps]


def _steps(n: int) -> str:
    return f"{n} step{'' if n == 1 else 's'}"


def _why_inconclusive(b: Bisection) -> str:
    if b.budget_s is not None and b.spent_s is not None and b.spent_s >= b.budget_s:
        return f"budget of {b.budget_s:.0f} s spent"
    return b.detail or "too noisy to call"


def _failure(b: Bisection) -> str:
    if b.detail:
        return b.detail
    reasons = [s.reason for s in b.steps if s.verdict == FAILED and s.reason]
    return reasons[-1] if reasons else "no reason recorded"


def _with_steps(head: str, said: Sequence[str]) -> str:
    return "; ".join([f"{head}: {said[0]}", *said[1:]]) if said else head


def bisection_line(b: Bisection) -> str:
    """The bisection's word on one case: the culprit and each other change's effect, or
    why it could not tell."""
    outcome = BisectionOutcome(b.outcome)
    if b.running:
        spent = sum(s.seconds or 0.0 for s in b.steps)
        budget = "" if b.budget_s is None else f" ({spent:.0f} s of {b.budget_s:.0f} s)"
        return _with_steps(f"bisecting: {_steps(len(b.steps))} so far{budget}", _steps_said(b))
    names = [group_label(b.group(i)) for i in b.culprit]
    if outcome == BisectionOutcome.CULPRIT and b.culprit:
        head = f"culprit: {' + '.join(names)}: {_effect_of(b, b.culprit)}"
        return "; ".join([head, *_others(b)])
    if outcome == BisectionOutcome.TOGETHER and b.culprit:
        head = (f"the effect needs {_and(names)} together "
                f"({_effect_of(b, b.culprit)}): each alone no effect")
        return "; ".join([head, *_others(b)])
    if outcome == BisectionOutcome.SEVERAL and b.culprit:
        parts = [f"{name}: {_effect_of(b, [i])}" for name, i in zip(names, b.culprit,
                                                                      strict=True)]
        return "; ".join([f"several changes, each part of the effect: {parts[0]}",
                          *parts[1:], *_others(b)])
    if outcome == BisectionOutcome.FAILED:
        return f"bisection failed after {_steps(len(b.steps))}: {_failure(b)}"
    return _with_steps(f"inconclusive after {_steps(len(b.steps))} ({_why_inconclusive(b)})",
                       _steps_said(b))
