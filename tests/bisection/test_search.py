"""The search over groups and over commits, with a stand-in measure: what each set of
moved groups shows is decided by the test, and every call is recorded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from segtasks.bisect.errors import BudgetExhausted, NotBisectable
from segtasks.bisect.search import first_changing_commit, search_groups
from segtasks.domain.bisection import BisectionOutcome, BisectionStep

REGRESSION, IMPROVEMENT, UNCHANGED = "regression", "improvement", "unchanged"
SLOWER, FASTER, SAME = 0.8, 1.25, 1.0


def _step(number: int, moved: frozenset[int], verdict: str, ratio: float,
          reason: str | None = None, width: float = 0.01) -> BisectionStep:
    return BisectionStep(step=number, moved=tuple(sorted(moved)), lock_sha256=f"{number:064}",
                         verdict=verdict, pairs=3, ratio=ratio, ci_low=ratio - width,
                         ci_high=ratio + width, reason=reason)


def _full(groups: int, verdict: str = REGRESSION, ratio: float = SLOWER) -> BisectionStep:
    return _step(0, frozenset(range(groups)), verdict, ratio)


class StandIn:
    """measure(moved): the verdict `judge(moved)` gives, each set asked at most once."""

    def __init__(self, judge: Callable[[frozenset[int]], tuple[str, float]],
                 budget_steps: int | None = None) -> None:
        self.judge, self.budget_steps = judge, budget_steps
        self.asked: list[frozenset[int]] = []

    def __call__(self, moved: frozenset[int]) -> BisectionStep:
        assert moved not in self.asked, f"{sorted(moved)} measured twice"
        if self.budget_steps is not None and len(self.asked) >= self.budget_steps:
            raise BudgetExhausted(60.0, 61.0)
        self.asked.append(moved)
        verdict, ratio, *width = self.judge(moved)
        # a step that cannot tell: an interval that reaches past half the full change
        wide = verdict not in (REGRESSION, IMPROVEMENT, UNCHANGED)
        return _step(len(self.asked), moved, verdict, ratio,
                     reason="the interval neither shows a change nor rules one out"
                     if wide else None, width=width[0] if width else 0.15 if wide else 0.01)


def culprit_is(index: int, verdict: str = REGRESSION, ratio: float = SLOWER):
    return lambda moved: (verdict, ratio) if index in moved else (UNCHANGED, SAME)


@pytest.mark.parametrize(("groups", "culprit"), [(1, 0), (3, 0), (3, 2), (8, 5), (8, 0)])
def test_a_single_culprit_is_found_among_any_number_of_groups(groups, culprit):
    measure = StandIn(culprit_is(culprit))
    found = search_groups(range(groups), _full(groups), measure)
    assert found.outcome == BisectionOutcome.CULPRIT
    assert found.culprit == (culprit,)
    assert [set(s.moved) for s in found.steps] == [set(m) for m in measure.asked]
    # halving: two steps per level, at most
    assert len(found.steps) <= 2 * max(1, (groups - 1).bit_length())
    # the culprit's evidence shows the effect; every other group's shows none
    assert found.evidence[culprit].verdict == REGRESSION
    assert {i: s.verdict for i, s in found.evidence.items() if i != culprit} == {
        i: UNCHANGED for i in range(groups) if i != culprit}
    assert found.detail.startswith(f"culprit: group {culprit}, -20.0% +-1.0% (")


def test_a_single_group_is_the_culprit_without_a_step():
    found = search_groups([0], _full(1), StandIn(culprit_is(0)))
    assert found.outcome == BisectionOutcome.CULPRIT and found.culprit == (0,)
    assert found.steps == () and found.evidence[0].step == 0


def test_two_groups_each_causing_part_of_the_effect_are_several():
    def additive(moved):
        return (REGRESSION, 0.9 ** len(moved & {1, 6})) if moved & {1, 6} else (UNCHANGED,
                                                                               SAME)
    found = search_groups(range(8), _full(8), StandIn(additive))
    assert found.outcome == BisectionOutcome.SEVERAL
    assert found.culprit == (1, 6)
    assert found.detail == "several: group 1, -10.0% +-1.0%; group 6, -10.0% +-1.0% (10 steps)"


def test_two_groups_needed_together_are_named_together():
    def together(moved):
        return (REGRESSION, SLOWER) if {0, 3} <= moved else (UNCHANGED, SAME)
    measure = StandIn(together)
    found = search_groups(range(4), _full(4), measure)
    assert found.outcome == BisectionOutcome.TOGETHER
    assert found.culprit == (0, 3)
    assert all(found.evidence[i].verdict == REGRESSION for i in (0, 3))
    assert found.evidence[1].verdict == found.evidence[2].verdict == UNCHANGED


def test_a_step_that_cannot_tell_ends_inconclusive_with_what_was_measured():
    def noisy(moved):
        return ("inconclusive", 0.95) if moved == frozenset({0, 1}) else (UNCHANGED, SAME)
    found = search_groups(range(4), _full(4), StandIn(noisy))
    assert found.outcome == BisectionOutcome.INCONCLUSIVE and found.culprit == ()
    assert len(found.steps) == 1
    assert found.detail == ("step 1 (moving group 0, group 1) could not tell: the interval "
                            "neither shows a change nor rules one out")


def test_a_step_too_noisy_for_unchanged_that_rules_out_half_the_effect_shows_none():
    # full: 20% slower; group 0 alone: 1% faster, interval 0.91 .. 1.11 (wider than the
    # +-5% "unchanged" needs, yet nowhere near the 0.894 half of the full change)
    def judge(moved):
        return (REGRESSION, SLOWER) if 1 in moved else ("inconclusive", 1.01, 0.10)
    found = search_groups(range(2), _full(2), StandIn(judge))
    assert found.outcome == BisectionOutcome.CULPRIT and found.culprit == (1,)
    assert [s.verdict for s in found.steps] == ["inconclusive", REGRESSION]


def test_a_failed_environment_ends_failed():
    found = search_groups(range(2), _full(2), StandIn(lambda moved: ("failed", SAME)))
    assert found.outcome == BisectionOutcome.FAILED
    assert found.detail.startswith("step 1 (moving group 0) failed:")


def test_a_spent_budget_ends_inconclusive_keeping_the_steps():
    found = search_groups(range(8), _full(8), StandIn(culprit_is(5), budget_steps=3))
    assert found.outcome == BisectionOutcome.INCONCLUSIVE and found.culprit == ()
    assert len(found.steps) == 3
    assert found.detail == "budget of 60 s spent after 3 steps"


def test_no_set_is_measured_twice_and_the_whole_is_never_measured():
    def together(moved):
        return (REGRESSION, SLOWER) if {0, 1} <= moved else (UNCHANGED, SAME)
    measure = StandIn(together)  # asserts no set twice
    found = search_groups(range(2), _full(2), measure)
    assert found.outcome == BisectionOutcome.TOGETHER and found.culprit == (0, 1)
    # {0} and {1} measured; {0, 1} is the treatment, known: not measured
    assert measure.asked == [frozenset({0}), frozenset({1})]


def test_an_improvement_is_bisected_like_a_regression():
    measure = StandIn(culprit_is(2, IMPROVEMENT, FASTER))
    found = search_groups(range(3), _full(3, IMPROVEMENT, FASTER), measure)
    assert found.outcome == BisectionOutcome.CULPRIT and found.culprit == (2,)
    assert "+25.0% +-1.0%" in found.detail


def test_a_full_change_that_is_no_regression_is_not_bisected():
    with pytest.raises(NotBisectable, match="the full change is unchanged"):
        search_groups(range(3), _full(3, UNCHANGED, SAME), StandIn(culprit_is(0)))


@pytest.mark.parametrize("first_bad", range(7))
def test_the_first_changing_commit_among_seven(first_bad):
    measure = StandIn(lambda moved: (REGRESSION, SLOWER) if max(moved) >= first_bad
                      else (UNCHANGED, SAME))
    found = first_changing_commit(range(7), _full(7), measure)
    assert found.outcome == BisectionOutcome.CULPRIT and found.culprit == (first_bad,)
    assert len(found.steps) <= 3  # log2(7) rounded up
    # each environment is the package at commit k: commits 0..k moved
    assert all(m == frozenset(range(max(m) + 1)) for m in measure.asked)
    assert found.detail.startswith(f"first changing commit: group {first_bad}, -20.0% +-1.0% (")


def test_a_commit_step_that_cannot_tell_stops_the_commit_search():
    measure = StandIn(lambda moved: ("inconclusive", 0.97))
    found = first_changing_commit(range(7), _full(7), measure)
    assert found.outcome == BisectionOutcome.INCONCLUSIVE and found.culprit == ()
    assert len(found.steps) == 1 and "could not tell" in found.detail
