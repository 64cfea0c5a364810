"""A bisection as its readers say it: the sentence (segtasks.report.bisection) for each
outcome, the report's Bisection part of the paired section, and the alert."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import timedelta

import pytest
from bisection_example import LINE, NUMPY, STEPS, TORCH, add_bisection, example, step
from factories import result
from paired_nights import NOW, PairedCase, add_paired_night
from sqlalchemy.orm import Session

from segtasks import store
from segtasks.alerts import message
from segtasks.domain.bisection import BisectionKind, BisectionOutcome, ChangeGroup
from segtasks.report import model
from segtasks.report.bisection import bisection_line, telling_step
from segtasks.report.html import render_html
from segtasks.report.markdown import render, render_markdown
from segtasks.report.paired_section import paired_section
from segtasks.store import repository
from segtasks.store.schema import Run

PILLOW = ChangeGroup(2, ("pillow 11.0.0 -> 11.1.0",), ("pillow",))
TORCH_SAID = "torch 2.14.0 -> 2.14.1 (with torchvision 0.29.0 -> 0.29.1)"


# --- the sentence ---------------------------------------------------------------------------

def test_a_culprit_reads_as_the_issue_says():
    assert bisection_line(example()) == LINE


@pytest.mark.parametrize(("changes", "line"), [
    ({"outcome": BisectionOutcome.TOGETHER, "culprit": (0, 1), "groups": (TORCH, NUMPY, PILLOW),
      "steps": (step(0, (0,), "unchanged", 0.99, 0.01), step(1, (1,), "unchanged", 1.0, 0.01),
                step(2, (0, 1), "regression", 0.94), step(3, (2,), "unchanged", 1.002, 0.01))},
     f"the effect needs {TORCH_SAID} and numpy 2.3.4 -> 2.3.5 together (6.0% slower +-1.1%): "
     "each alone no effect; pillow 11.0.0 -> 11.1.0: no effect (0.2% faster +-1.0%)"),
    ({"outcome": BisectionOutcome.SEVERAL, "culprit": (0, 1),
      "steps": (step(0, (0,), "regression", 0.97, 0.01), step(1, (1,), "regression", 0.97, 0.01))},
     f"several changes, each part of the effect: {TORCH_SAID}: 3.0% slower +-1.0%; "
     "numpy 2.3.4 -> 2.3.5: 3.0% slower +-1.0%"),
    ({"outcome": BisectionOutcome.INCONCLUSIVE, "culprit": (), "spent_s": 600.0,
      "steps": (step(0, (0,), "inconclusive", 0.98, 0.03),)},
     f"inconclusive after 1 step (budget of 600 s spent): {TORCH_SAID}: inconclusive "
     "(2.0% slower +-3.0%)"),
    ({"outcome": BisectionOutcome.INCONCLUSIVE, "culprit": (), "spent_s": 300.0,
      "detail": "no step's interval narrower than the effect", "steps": STEPS},
     f"inconclusive after 2 steps (no step's interval narrower than the effect): {TORCH_SAID}:"
     " 6.0% slower +-1.1%; numpy 2.3.4 -> 2.3.5: no effect (0.2% faster +-1.0%)"),
    ({"outcome": BisectionOutcome.INCONCLUSIVE, "culprit": (), "steps": (), "detail": None,
      "spent_s": 0.0}, "inconclusive after 0 steps (too noisy to call)"),
    ({"outcome": BisectionOutcome.FAILED, "culprit": (), "detail": None,
      "steps": (step(0, (0,), "failed", reason="torch 2.14.1 has no wheel for Python 3.14",
                     pairs=0),)},
     "bisection failed after 1 step: torch 2.14.1 has no wheel for Python 3.14"),
    ({"running": True, "outcome": BisectionOutcome.INCONCLUSIVE, "steps": STEPS[:1]},
     f"bisecting: 1 step so far (60 s of 600 s): {TORCH_SAID}: 6.0% slower +-1.1%"),
    # lower is better for a latency: a higher ratio is slower
    ({"metric": "latency_p50_ms", "steps": (step(0, (0,), "regression", 1.06),
                                            step(1, (1,), "unchanged", 1.002, 0.01))},
     f"culprit: {TORCH_SAID}: 6.0% slower +-1.1%; numpy 2.3.4 -> 2.3.5: no effect "
     "(0.2% slower +-1.0%)"),
    ({"kind": BisectionKind.COMMITS, "groups": (
        ChangeGroup(0, ("segkit 1a2b3c4: decode masks on the GPU",), ("segkit",),
                    "1a2b3c4" * 5),
        ChangeGroup(1, ("segkit 5d6e7f8: typo",), ("segkit",), "5d6e7f8" * 5))},
     "culprit: segkit 1a2b3c4: decode masks on the GPU: 6.0% slower +-1.1%; "
     "segkit 5d6e7f8: typo: no effect (0.2% faster +-1.0%)"),
])
def test_each_outcome_has_its_words(changes, line):
    assert bisection_line(example(**changes)) == line


def test_each_group_is_told_by_its_own_step_else_the_smallest_without_the_culprit():
    a, b, c, d = (ChangeGroup(i, (f"{name} 1 -> 2",)) for i, name in enumerate("abcd"))
    halves = example(groups=(a, b, c, d), culprit=(1,), steps=(
        step(0, (0, 1), "regression", 0.94), step(1, (2, 3), "unchanged", 1.001, 0.01),
        step(2, (1,), "regression", 0.94)))
    assert telling_step(halves, [1]).step == 2  # exactly that group
    assert telling_step(halves, [2]).step == 1  # the smallest that moved it
    assert telling_step(halves, [0], avoid=[1]) is None  # only beside the culprit
    assert bisection_line(halves) == (
        "culprit: b 1 -> 2: 6.0% slower +-1.1%; a 1 -> 2: not measured apart from the "
        "culprit; c 1 -> 2: no effect (0.1% faster +-1.0%); d 1 -> 2: no effect "
        "(0.1% faster +-1.0%)")


# --- the report and the alert ---------------------------------------------------------------

def _night(engine, name: str) -> int:
    run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=name,
                                 trigger="scheduled", params={}, code_version="abc")
    with Session(engine) as session, session.begin():
        session.get_one(Run, run_pk).started_at = NOW + timedelta(hours=1)
    repository.save_result(engine, run_pk, result(batch_size=1, images_per_s=9.4))
    return run_pk


def _report(engine, run_pk) -> model.RunReport:
    return model.build(repository.get_run(engine, run_pk),
                       repository.run_results(engine, run_pk), [], {}, "test database",
                       paired=paired_section(engine, run_pk))


def test_the_report_names_the_culprit_under_software_vs_machine(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "paired")
    add_paired_night(engine, run_pk)
    add_bisection(engine, run_pk)
    report = _report(engine, run_pk)
    assert report.paired.bisection_lines == [f"cpu-bs1-fp32: {LINE}"]

    markdown = render_markdown(report)
    assert markdown.index("## Software vs machine") < markdown.index("### Bisection") \
        < markdown.index("## CPU fp32")
    assert f"- cpu-bs1-fp32: {LINE}" in markdown
    assert "| Step | Moved | Verdict | Change | +- | Pairs | MDE | Seconds |" in markdown
    assert (f"| 0 | {TORCH_SAID} | regression | -6.0% | 1.1% | 5 | 2.0% | 60 |") in markdown
    assert "| 1 | numpy 2.3.4 -> 2.3.5 | unchanged | +0.2% | 1.0% | 5 | 2.0% | 60 |" \
        in markdown

    page = render_html(report)
    assert f'<p class="bisection">{html.escape(f"cpu-bs1-fp32: {LINE}")}</p>' in page
    assert page.index("<h3>Bisection</h3>") < page.index("<h2>CPU fp32</h2>")
    assert "Bisection steps,cpu-bs1-fp32,0,torch 2.14.0 -> 2.14.1" in render(report, "csv")


def test_a_night_without_a_bisection_has_no_such_part(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "paired")
    add_paired_night(engine, run_pk)
    report = _report(engine, run_pk)
    assert report.paired.bisection_lines == []
    assert "Bisection" not in render_markdown(report)
    assert "Bisection" not in render_html(report)
    assert "Bisection" not in render(report, "csv")


def test_the_alert_of_a_regression_names_its_culprit(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "paired")
    add_paired_night(engine, run_pk, (PairedCase(), PairedCase(
        case_key="cpu-bs2-fp32", verdict="unchanged", ratio=0.998, ci_low=0.99,
        ci_high=1.004)))
    add_bisection(engine, run_pk)
    # a case that did not regress is not the alert's business, bisected or not
    add_bisection(engine, run_pk, replace(example(), case_key="cpu-bs2-fp32"))
    alert = message.from_store(engine, run_pk)
    assert f"Bisection (which change explains it):\n- cpu-bs1-fp32: {LINE}" in alert.text
    assert "- cpu-bs2-fp32: culprit" not in alert.text
    [said] = alert.payload["bisections"]
    assert (said["case"], said["outcome"], said["culprit"], said["text"]) == (
        "cpu-bs1-fp32", "culprit", [list(TORCH.changes)], f"cpu-bs1-fp32: {LINE}")


def test_the_alert_without_a_bisection_is_as_it_was(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "paired")
    add_paired_night(engine, run_pk)
    alert = message.from_store(engine, run_pk)
    assert "Bisection" not in alert.text and alert.payload["bisections"] == []
