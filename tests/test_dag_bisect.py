"""A bisection through the real DAG (dag.test()), in real environments built with uv from its
local cache: tonight's lock is this environment's plus three test packages, one of which
(segtasks.envs.planted) slows UNet++'s forward; the control is this environment's lock.

The night finds the paired regression, its `bisect` task builds the environments between
the two locks, measures them in pairs against the control, names the planted package and
does not blame the two that do nothing; the run's notes, the report and the stored
bisection say so, and the night stays failed (compare failed: the bisect task, the run's
leaf, fails too). Short: the paired nights' one case and protocol (tests/test_paired_night).
"""

from __future__ import annotations

import pytest
from test_dag import dag  # noqa: F401 - the fixture
from test_paired_night import (  # noqa: F401 - the fixtures
    KEY,
    _last_run,
    _night,
    _report,
    locks,
    wheels,
)

from segtasks.domain.bisection import BisectionOutcome, rules_out_the_effect
from segtasks.envs import planted
from segtasks.envs.lock import Lock, Package
from segtasks.envs.snapshot import current
from segtasks.envs.wheels import write_wheel
from segtasks.store.bisections import bisections_of_run
from segtasks.store.locks import save_lock

pytestmark = pytest.mark.slow
INERT = ("aa-does-nothing", "zz-does-nothing")  # sorted around the planted package's name
# a step of 3 pairs beside the whole suite's load once spanned 0.49 to 1.79 for a package
# that does nothing: at 400% (full ratio about 0.2) such a step still lies on the near side
# of half the change (0.45), so it tells that the effect is not there
SLOWDOWN_PERCENT = 400


@pytest.fixture
def three_changes(locks, wheels, tmp_path_factory):  # noqa: F811
    """A lock named "three-changes": this environment's plus the planted slowdown and two
    packages that do nothing, stored beside the paired nights' locks."""
    folder = tmp_path_factory.mktemp("inert-wheels")
    inert = [write_wheel(folder, name, "1.0",
                         {f"{name.replace('-', '_')}/__init__.py": "# does nothing\n"})
             for name in INERT]
    slow = planted.lock_with(current(), planted.planted_slowdown_wheel(SLOWDOWN_PERCENT,
                                                                       folder))
    lock = Lock(python_version=slow.python_version,
                packages=(*slow.packages, *(Package(name, "1.0", source=w.resolve().as_uri())
                                            for name, w in zip(INERT, inert, strict=True))),
                code_revision=slow.code_revision)
    return save_lock(locks["engine"], lock, origin="snapshot", name="three-changes")


def test_the_bisect_task_names_the_planted_package_and_blames_no_other(
        dag, locks, three_changes, tmp_path):  # noqa: F811
    engine = locks["engine"]
    dag_run, states = _night(dag, {"environments": ["three-changes"], "control": "here",
                                   "bisect": True})
    run = _last_run(engine)
    # the regression fails the night; the bisect task (the leaf) ran, and failed with it
    assert states["compare"] == "failed" and states["bisect"] == "failed"
    assert dag_run.state == "failed" and run.state == "regressed"
    (b,) = bisections_of_run(engine, run.id)
    assert (b.case_key, b.control_lock, b.treatment_lock) == (KEY, locks["here"], three_changes)
    assert not b.running and b.outcome == BisectionOutcome.CULPRIT, b.detail
    assert len(b.groups) == 3  # three packages that need nothing of each other
    (culprit,) = b.culprit
    assert b.group(culprit).packages == (planted.NAME,)
    # the others: measured without the culprit, and found not to carry the effect (three
    # pairs beside other tests' load rarely say "unchanged" within +-5%, but their interval
    # lies far from half of the slowdown)
    for group in b.groups:
        if group.index == culprit:
            continue
        apart = [s for s in b.steps if group.index in s.moved and culprit not in s.moved]
        assert apart and all(s.verdict == "unchanged" or (
            s.verdict == "inconclusive" and rules_out_the_effect(s, b.effect_ratio))
            for s in apart), (group, b.steps)
    assert all(s.pairs >= 3 and s.seconds for s in b.steps)
    line = next(n for n in run.notes if n.startswith(f"{KEY}: culprit: "))
    assert planted.NAME in line.split(";")[0] and "aa-does-nothing" not in line.split(";")[0]
    assert "aa-does-nothing absent -> 1.0: " in line and "zz-does-nothing absent -> 1.0: " in line
    report = _report(tmp_path, run.id)
    assert "Bisection" in report and f"culprit: {planted.NAME}" in report
