"""bisect_case's wiring, with stand-ins for the builds and the pairs: the steps it hands
to on_step, resuming from stored steps, the budget, a build that fails, and commits."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from segtasks.bisect import run as run_module
from segtasks.bisect.groups import _as_change_groups
from segtasks.bisect.locks import changed_names
from segtasks.bisect.run import bisect_case
from segtasks.domain.bisection import BisectionKind, BisectionOutcome
from segtasks.envs.build import EnvironmentBuildFailed
from segtasks.envs.lock import Lock, Package
from segtasks.pairs.stats import paired_summary
from segtasks.plan.case import Case

from .conftest import lock
from .gitrepo import NAME, git_package_repo

CASE = Case(device="cpu", batch_size=1, threads=1)
CONTROL = [100.0, 101.0, 99.0]
SLOW = "pkg-slow"


def _slowed(values, ratio):
    # the pairs' ratio within 0.1% of `ratio`: decisive at any sensible minimum effect
    return [v * ratio * (1 + 0.001 * (i - 1)) for i, v in enumerate(values)]


class Pairs:
    """Stands in for measure_pairs: a lock is slow when `slow(lock)` says so."""

    def __init__(self, locks: dict[str, Lock], slow, budget_exhausted=False) -> None:
        self.locks, self.slow, self.calls = locks, slow, []
        self.budget_exhausted = budget_exhausted

    def __call__(self, case, *, treatment, seed, budget_s, **kwargs):
        self.calls.append((treatment.lock_sha256, seed, budget_s))
        if self.slow is None:  # too noisy to tell
            values = [v * f for v, f in zip(CONTROL, (0.9, 1.1, 0.97), strict=True)]
        else:
            ratio = 0.5 if self.slow(self.locks[treatment.lock_sha256]) else 1.0
            values = _slowed(CONTROL, ratio)
        exhausted = self.budget_exhausted

        class Outcome:
            budget_exhausted = exhausted

            @staticmethod
            def complete_pairs(metric):
                return CONTROL, values

        return Outcome()


@pytest.fixture
def packages(monkeypatch):
    """Control: four packages at 1.0; treatment: each at 2.0, pkg-slow's slowing by half.
    One group per package (uv is tried in test_groups)."""
    names = ["pkg-a", "pkg-b", "pkg-c", SLOW]
    control = lock(*(Package(n, "1.0") for n in names))
    treatment = lock(*(Package(n, "2.0") for n in names))
    monkeypatch.setattr(run_module, "change_groups", lambda c, t, settings=None: (
        _as_change_groups(c, t, [frozenset({n}) for n in changed_names(c, t)])))
    built = {}

    def fake_build(lock, root=None, *, settings=None):
        built[lock.sha256] = lock
        return Path(sys.executable)

    monkeypatch.setattr("segtasks.envs.build.build", fake_build)
    monkeypatch.setattr("segtasks.envs.build.interpreter", lambda lock: sys.executable)
    pairs = Pairs(built, lambda lock: lock.version_of(SLOW) == "2.0")
    monkeypatch.setattr("segtasks.pairs.measure.measure_pairs", pairs)
    return control, treatment, pairs


def _bisect(control, treatment, **kwargs):
    full = paired_summary(CONTROL, _slowed(CONTROL, 0.5))
    return bisect_case(CASE, control=control, treatment=treatment, full=full,
                       inputs=Path("in"), weights=Path("w"), pairs=3, mode="interleaved",
                       seed=10, min_effect=0.05, **{"budget_s": None, **kwargs})


def test_the_culprit_package_is_named_and_each_step_handed_over(packages):
    control, treatment, pairs = packages
    seen = []
    found = _bisect(control, treatment, on_step=seen.append)
    assert found.kind == BisectionKind.PACKAGES
    assert found.outcome == BisectionOutcome.CULPRIT
    assert [found.group(i).packages for i in found.culprit] == [(SLOW,)]
    assert list(found.steps) == seen and [s.step for s in seen] == [1, 2, 3, 4]
    # the seed moves on with the step: each step's pair orders are its own
    assert [seed for _, seed, _ in pairs.calls] == [11, 12, 13, 14]
    assert found.effect_ratio == pytest.approx(0.5, rel=1e-3)
    assert found.control_lock == control.sha256 and found.treatment_lock == treatment.sha256
    assert found.detail == f"culprit: {SLOW} 1.0 -> 2.0, -50.0% +-0.1% (4 steps)"
    # every group has the step that told: the culprit's showed it, the others' did not
    evidence = found.extra["evidence"]
    assert set(evidence) == {"0", "1", "2", "3"}
    by_step = {s.step: s for s in found.steps}
    assert by_step[evidence["3"]].verdict == "regression"
    assert {by_step[evidence[i]].verdict for i in "012"} == {"unchanged"}


def test_an_interrupted_bisection_resumes_from_its_stored_steps(packages):
    control, treatment, pairs = packages
    first = _bisect(control, treatment)
    pairs.calls.clear()
    again = _bisect(control, treatment, done=first.steps[:2])
    assert len(pairs.calls) == 2  # steps 3 and 4 only
    def what(steps):
        return [(s.step, s.moved, s.lock_sha256, s.verdict) for s in steps]

    assert what(again.steps) == what(first.steps) and again.culprit == first.culprit
    assert again.steps[:2] == first.steps[:2]  # reused as stored
    pairs.calls.clear()
    # the stored steps' seconds count against the budget: nothing is left for step 3
    spent = [s.__class__(**{**s.__dict__, "seconds": 50.0}) for s in first.steps[:2]]
    short = _bisect(control, treatment, done=spent, budget_s=60)
    assert pairs.calls == []
    assert short.outcome == BisectionOutcome.INCONCLUSIVE
    assert short.detail == "budget of 60 s spent after 2 steps"
    assert short.steps == tuple(spent) and short.spent_s >= 100


def test_a_step_cut_short_by_the_budget_is_kept_inconclusive(packages):
    control, treatment, pairs = packages
    pairs.budget_exhausted = True
    pairs.slow = None  # and the pairs it measured could not tell a thing
    seen = []
    found = _bisect(control, treatment, budget_s=1000, on_step=seen.append)
    assert found.outcome == BisectionOutcome.INCONCLUSIVE
    assert found.detail == "budget of 1000 s spent after 1 step"
    assert found.steps == tuple(seen) and seen[0].verdict == "inconclusive"
    assert seen[0].reason.startswith("the budget ran out after 3 complete pairs: ")
    assert pairs.calls[0][2] <= 1000  # measure_pairs was given what was left


def test_an_environment_that_cannot_be_built_fails_the_bisection(packages, monkeypatch):
    control, treatment, _ = packages

    def no_build(lock, root=None, *, settings=None):
        raise EnvironmentBuildFailed(f"cannot build lock {lock.short}: uv's cache lacks x")

    monkeypatch.setattr("segtasks.envs.build.build", no_build)
    found = _bisect(control, treatment)
    assert found.outcome == BisectionOutcome.FAILED
    (step,) = found.steps
    assert step.verdict == "failed" and "uv's cache lacks x" in step.reason
    assert found.detail.startswith("step 1 (moving pkg-a 1.0 -> 2.0, pkg-b 1.0 -> 2.0) "
                                   "failed: cannot build lock")


def test_a_git_revision_range_is_bisected_over_its_commits(packages, tmp_path):
    _, _, pairs = packages
    shas = git_package_repo(tmp_path / "repo", 6)
    source = f"git+{(tmp_path / 'repo').as_uri()}@{{}}"
    control = lock(Package(NAME, "0.1", source.format(shas[0])))
    treatment = lock(Package(NAME, "0.1", source.format(shas[5])))
    # commits 1..5 are the groups; the one at index 3 (shas[4]) slows the package
    pairs.slow = lambda lock: lock.package(NAME).source in {source.format(s)
                                                          for s in shas[4:]}
    found = _bisect(control, treatment)
    assert found.kind == BisectionKind.COMMITS
    assert [g.commit for g in found.groups] == shas[1:]
    assert found.outcome == BisectionOutcome.CULPRIT and found.culprit == (3,)
    assert found.group(3).changes == (f"{NAME} {shas[4][:12]}: change 5",)
    assert found.detail.startswith(f"first changing commit: {NAME} {shas[4][:12]}: change 5, "
                                   "-50.0% +-0.1% (")
    assert len(found.steps) <= 3
