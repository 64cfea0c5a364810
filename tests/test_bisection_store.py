"""Bisections in the store (segtasks.store.bisections) on both dialects: frozen values in
and out, a stopped bisection resumed on its own row, and the v_bisections view."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from bisection_example import STEPS, add_bisection, example, step
from sqlalchemy import text

from segtasks import store
from segtasks.domain.bisection import BisectionOutcome
from segtasks.errors import NotFound
from segtasks.store import bisections, repository

ROOT = Path(__file__).resolve().parents[1]


def _run(engine, name: str = "paired") -> int:
    return repository.open_run(engine, dag_id="segbench_nightly", run_id=name,
                               trigger="scheduled", params={}, code_version="abc")


def test_a_bisection_comes_back_as_it_was_stored(db_url):
    engine = store.connect(db_url)
    run_pk = _run(engine)
    pk = add_bisection(engine, run_pk)
    assert bisections.bisections_of_run(engine, run_pk) == [replace(example(), run_pk=run_pk)]
    assert bisections.bisection_of(engine, pk) == replace(example(), run_pk=run_pk)
    assert bisections.steps_of(engine, pk) == list(STEPS)
    assert bisections.latest_bisection(engine, run_pk, "cpu-bs1-fp32") == \
        replace(example(), run_pk=run_pk)
    assert bisections.latest_bisection(engine, run_pk, "cpu-bs2-fp32") is None
    assert bisections.latest_bisection(engine, run_pk, "cpu-bs1-fp32", "latency_p50_ms") is None
    assert bisections.bisections_of_run(engine, _run(engine, "other")) == []


def test_a_stopped_bisection_resumes_on_its_own_row(db_url):
    engine = store.connect(db_url)
    run_pk = _run(engine)
    started = example(outcome=BisectionOutcome.INCONCLUSIVE, steps=(), culprit=(),
                      detail=None, spent_s=None)
    pk = bisections.start_bisection(engine, run_pk, started)
    bisections.add_step(engine, pk, STEPS[0])
    [running] = bisections.bisections_of_run(engine, run_pk)
    assert running.running and running.steps == STEPS[:1]

    # the task is killed and runs again: the same row, its step kept, measured again
    assert bisections.start_bisection(engine, run_pk, started) == pk
    remeasured = replace(STEPS[0], ratio=0.941, pairs=6)
    bisections.add_step(engine, pk, remeasured)
    bisections.add_step(engine, pk, STEPS[1])
    assert bisections.steps_of(engine, pk) == [remeasured, STEPS[1]]

    bisections.finish_bisection(engine, pk, example(steps=(remeasured, STEPS[1])))
    [done] = bisections.bisections_of_run(engine, run_pk)
    assert not done.running and done.outcome == BisectionOutcome.CULPRIT
    assert done.steps == (remeasured, STEPS[1]) and done.culprit == (0,)
    # a finished one is found again too (the caller reads it back and stops there)
    assert bisections.start_bisection(engine, run_pk, started) == pk
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM bisections")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM bisection_steps")).scalar_one() == 2


def test_other_locks_or_metrics_are_other_bisections(db_url):
    engine = store.connect(db_url)
    run_pk = _run(engine)
    first = add_bisection(engine, run_pk)
    other_lock = add_bisection(engine, run_pk, example(treatment_lock="f" * 64))
    latency = add_bisection(engine, run_pk, example(metric="latency_p50_ms"))
    assert len({first, other_lock, latency}) == 3
    assert [b.treatment_lock[:1] for b in bisections.bisections_of_run(engine, run_pk)
            if b.metric == "images_per_s"] == [example().treatment_lock[:1], "f"]
    # the latest of a case is the one started last
    assert bisections.latest_bisection(engine, run_pk, "cpu-bs1-fp32").treatment_lock == "f" * 64


def test_unknown_runs_and_bisections_are_named(db_url):
    engine = store.connect(db_url)
    with pytest.raises(NotFound, match="no run with id 999"):
        bisections.start_bisection(engine, 999, example())
    with pytest.raises(NotFound, match="no bisection with id 999"):
        bisections.add_step(engine, 999, STEPS[0])
    with pytest.raises(NotFound, match="no bisection with id 999"):
        bisections.finish_bisection(engine, 999, example())


def test_the_view_has_one_row_per_bisection_with_its_culprit_as_text(db_url):
    engine = store.connect(db_url)
    run_pk = _run(engine)
    add_bisection(engine, run_pk)
    together = example(case_key="cpu-bs2-fp32", outcome=BisectionOutcome.TOGETHER,
                       culprit=(0, 1), steps=(*STEPS, step(2, (0, 1), "regression", 0.94)))
    add_bisection(engine, run_pk, together)
    bisections.start_bisection(engine, run_pk, example(
        case_key="cpu-bs4-fp32", outcome=BisectionOutcome.INCONCLUSIVE, steps=(),
        culprit=()))
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT run_pk, run_id, case_key, outcome, culprit_changes, effect_change, "
            "effect_ci_low_change, steps, spent_s, finished_at "
            "FROM v_bisections ORDER BY case_key")).all()
    assert [(r.run_pk, r.run_id, r.case_key, r.outcome, r.culprit_changes, r.steps)
            for r in rows] == [
        (run_pk, "paired", "cpu-bs1-fp32", "culprit",
         "torch 2.14.0 -> 2.14.1, torchvision 0.29.0 -> 0.29.1", 2),
        (run_pk, "paired", "cpu-bs2-fp32", "together",
         "torch 2.14.0 -> 2.14.1, torchvision 0.29.0 -> 0.29.1 + numpy 2.3.4 -> 2.3.5", 3),
        (run_pk, "paired", "cpu-bs4-fp32", "inconclusive", None, 0)]
    assert round(rows[0].effect_change, 3) == -0.061
    assert round(rows[0].effect_ci_low_change, 3) == -0.072
    assert rows[0].spent_s == 120.0 and rows[0].finished_at is not None
    assert rows[2].finished_at is None  # still running


def test_the_queries_of_docs_sql_bisections_run_in_both_dialects(db_url):
    engine = store.connect(db_url)
    run_pk = _run(engine)
    pk = add_bisection(engine, run_pk)
    part = (ROOT / "docs" / "sql.md").read_text().split("### Bisections", 1)[1]
    culprits, steps = re.findall(r"```sql\n(.*?)```", part.split("\n## ", 1)[0], re.DOTALL)
    with engine.connect() as conn:
        found = conn.execute(text(culprits)).all()
        measured = conn.execute(text(steps.replace("= 1", f"= {pk}"))).all()
    assert [(r.case_key, r.culprit_changes) for r in found] == [
        ("cpu-bs1-fp32", "torch 2.14.0 -> 2.14.1, torchvision 0.29.0 -> 0.29.1")]
    assert [(r.step, r.verdict, round(r.change, 3), round(r.half_width, 3)) for r in measured] \
        == [(0, "regression", -0.06, 0.011), (1, "unchanged", 0.002, 0.01)]
