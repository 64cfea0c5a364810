"""A paired night as its readers say it: the sentence (segtasks.report.paired), the store's
reads (segtasks.store.paired_reads), the report's section, the alert, the SQL cookbook."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from factories import HARDWARE, result
from paired_nights import CONTROL, NOW, TREATMENT, PairedCase, add_paired_night, set_run_lock
from sqlalchemy import text
from sqlalchemy.orm import Session

from segtasks import nightly, store
from segtasks.alerts import message
from segtasks.domain.paired import PairedVerdict, PairMode, Side
from segtasks.report import model
from segtasks.report.html import render_html
from segtasks.report.markdown import render, render_markdown
from segtasks.report.paired import machine_only, paired_line, unpaired_line
from segtasks.report.paired_section import paired_section
from segtasks.store import paired_reads, repository
from segtasks.store.schema import Run

ROOT = Path(__file__).resolve().parents[1]
ISSUE = ("software: 6.1% slower than the control's on this machine tonight (5 pairs, +-1.1%); "
         "machine: unchanged; packages changed: torch 2.14.0 -> 2.14.1")


def verdict(**changes) -> PairedVerdict:
    """The issue's example night as a plain value; `changes` make the others."""
    base = PairedVerdict(case_key="cpu-bs1-fp32", hardware_key=HARDWARE, metric="images_per_s",
                         control_lock=CONTROL, treatment_lock=TREATMENT,
                         mode=PairMode.INTERLEAVED, pairs=5, verdict="regression", ratio=0.939,
                         ci_low=0.928, ci_high=0.950, mde=0.021, machine_verdict="unchanged",
                         packages_changed=("torch 2.14.0 -> 2.14.1",))
    return replace(base, **changes)


# --- the sentence ---------------------------------------------------------------------------

def test_a_software_regression_reads_as_the_issue_says():
    assert paired_line(verdict()) == ISSUE


@pytest.mark.parametrize(("changes", "software"), [
    ({"verdict": "improvement", "ratio": 1.05, "ci_low": 1.03, "ci_high": 1.07},
     "software: 5.0% faster than the control's on this machine tonight (5 pairs, +-2.0%)"),
    # within: how far the interval reaches from the control, either way
    ({"verdict": "unchanged", "ratio": 0.998, "ci_low": 0.990, "ci_high": 1.004},
     "software: within +-1.0% of the control (5 pairs, MDE 2.1%)"),
    ({"verdict": "inconclusive", "ratio": 0.968, "ci_low": 0.928, "ci_high": 1.008,
      "mde": 0.061},
     "software: inconclusive, between 7.2% slower and 0.8% faster than the control "
     "(5 pairs, MDE 6.1%)"),
    ({"verdict": "failed", "ratio": None, "ci_low": None, "ci_high": None, "pairs": 0,
      "detail": "every control process ran out of memory"},
     "software: failed: every control process ran out of memory"),
    # lower is better for a latency: higher tonight is slower
    ({"metric": "latency_p50_ms", "ratio": 1.061, "ci_low": 1.05, "ci_high": 1.072},
     "software: 6.1% slower than the control's on this machine tonight (5 pairs, +-1.1%)"),
    ({"pairs": 1, "ci_low": None, "ci_high": None},
     "software: 6.1% slower than the control's on this machine tonight (1 pair)"),
])
def test_each_software_verdict_has_its_words(changes, software):
    assert paired_line(verdict(**changes)).split("; ")[0] == software


@pytest.mark.parametrize(("changes", "machine"), [
    ({"machine_verdict": "regression", "machine_change": -0.079},
     "machine: 7.9% slower than its earlier nights"),
    ({"machine_verdict": "improvement", "machine_change": 0.03},
     "machine: 3.0% faster than its earlier nights"),
    ({"machine_verdict": None}, "machine: no earlier nights"),
    ({"machine_verdict": "insufficient_history"}, "machine: too few earlier nights"),
])
def test_the_machine_is_judged_on_the_controls_own_nights(changes, machine):
    assert paired_line(verdict(**changes)).split("; ")[1] == machine


def test_no_changed_package_is_said_and_a_night_in_the_baselines_lock_is_not_paired():
    assert paired_line(verdict(packages_changed=())).endswith("; packages changed: none")
    assert unpaired_line(CONTROL) == (
        f"software: same lock as the baseline night ({CONTROL[:12]}): not paired")


def test_a_machine_that_moved_under_unchanged_software_is_named_so():
    moved = verdict(verdict="unchanged", machine_verdict="regression", machine_change=-0.079)
    assert machine_only(moved) == "machine slower; software unchanged"
    assert machine_only(verdict()) is None  # the software moved: not the machine alone
    assert machine_only(verdict(verdict="unchanged")) is None
    # the pairs could not tell: the machine's move is still what the night says
    assert machine_only(replace(moved, verdict="inconclusive")) == (
        "machine slower; software inconclusive")


# --- the store's reads ----------------------------------------------------------------------

def _night(engine, name: str, started_offset_days: int = 0) -> int:
    run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=name,
                                 trigger="scheduled", params={}, code_version="abc")
    with Session(engine) as session, session.begin():
        session.get_one(Run, run_pk).started_at = NOW + timedelta(days=started_offset_days)
    repository.save_result(engine, run_pk, result(batch_size=1, images_per_s=9.4))
    return run_pk


def test_the_store_gives_back_verdicts_and_pairs_in_the_order_they_ran(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "paired")
    other = PairedCase(case_key="cpu-bs2-fp32", verdict="unchanged", ratio=0.998,
                       ci_low=0.99, ci_high=1.004, pairs=((15.0, 15.0, "control"),))
    add_paired_night(engine, run_pk, (PairedCase(), other))

    [first, second] = paired_reads.paired_verdicts_of_run(engine, run_pk)
    assert first == verdict(run_pk=run_pk, p_value=0.001, min_effect=0.05,
                            machine_change=-0.004, budget_s=600.0, spent_s=240.0)
    assert (second.case_key, second.verdict) == ("cpu-bs2-fp32", "unchanged")

    sides = paired_reads.pairs_of_run(engine, run_pk, "cpu-bs1-fp32")
    # stored newest first; read back by pair, then position (the order they ran in)
    assert [(s.pair, s.position, s.side) for s in sides[:4]] == [
        (0, 0, Side.TREATMENT), (0, 1, Side.CONTROL), (1, 0, Side.CONTROL),
        (1, 1, Side.TREATMENT)]
    assert sides[0].images_per_s == 9.4 and sides[0].cpu_affinity == (0, 1)
    assert sides[0].mode == PairMode.INTERLEAVED and sides[0].lock_sha256 == TREATMENT
    assert len(paired_reads.pairs_of_run(engine, run_pk)) == 12  # every case: 5 + 1 pairs
    with Session(engine) as session:  # inside a caller's session as well
        assert paired_reads.pairs_by_case(session, run_pk) == {
            "cpu-bs1-fp32": sides, "cpu-bs2-fp32": paired_reads.pairs_of_run(
                engine, run_pk, "cpu-bs2-fp32")}
    assert paired_reads.run_lock(engine, run_pk) == TREATMENT

    unpaired = _night(engine, "plain", 1)
    assert paired_reads.paired_verdicts_of_run(engine, unpaired) == []
    assert paired_reads.pairs_of_run(engine, unpaired) == []
    assert paired_reads.run_lock(engine, unpaired) is None


def test_a_series_paired_history_is_newest_first_and_limited(db_url):
    engine = store.connect(db_url)
    nights = [_night(engine, f"night-{day}", day) for day in range(3)]
    for day, run_pk in enumerate(nights):
        add_paired_night(engine, run_pk, (PairedCase(ratio=0.9 + day / 100),))
    found = paired_reads.paired_history(engine, "cpu-bs1-fp32", HARDWARE, 2)
    assert [v.run_pk for v in found] == [nights[2], nights[1]]
    assert [v.ratio for v in found] == [0.92, 0.91]
    assert paired_reads.paired_history(engine, "cpu-bs1-fp32", "another machine", 5) == []
    assert paired_reads.paired_history(engine, "cpu-bs1-fp32", HARDWARE, 5,
                                       metric="latency_p50_ms") == []


# --- the report -----------------------------------------------------------------------------

def _report(engine, run_pk) -> model.RunReport:
    return model.build(repository.get_run(engine, run_pk),
                       repository.run_results(engine, run_pk), [], {}, "test database",
                       paired=paired_section(engine, run_pk))


def test_the_report_opens_with_software_vs_machine_and_lists_the_pairs_after(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "paired")
    add_paired_night(engine, run_pk)
    markdown = render_markdown(_report(engine, run_pk))
    section = markdown.index("## Software vs machine")
    assert section < markdown.index("## CPU fp32") < markdown.index("## Pairs")
    assert f"- cpu-bs1-fp32: {ISSUE}" in markdown
    assert ("| Case | Metric | Ratio | Interval | +- | Pairs | Mode | MDE | Software | Machine "
            "| Machine change | Packages changed |\n") in markdown
    assert ("| cpu-bs1-fp32 | images_per_s | -6.1% | -7.2% .. -5.0% | 1.1% | 5 | interleaved "
            "| 2.1% | regression | unchanged | unchanged | torch 2.14.0 -> 2.14.1 |\n"
            ) in markdown
    # each pair: which side ran first, each side's images/s, their ratio
    assert "| Case | Pair | Order | Control (img/s) | Treatment (img/s) | Treatment / control |" \
        in markdown
    assert "| cpu-bs1-fp32 | 0 | treatment first | 10.000 | 9.400 | 0.9400 |" in markdown
    assert "| cpu-bs1-fp32 | 1 | control first | 10.100 | 9.500 | 0.9406 |" in markdown

    page = render_html(_report(engine, run_pk))
    assert page.index("<h2>Software vs machine</h2>") < page.index("<h2>CPU fp32</h2>")
    assert f"<li>{html.escape(f'cpu-bs1-fp32: {ISSUE}')}</li>" in page
    assert "<details><summary>Pairs (each side&#x27;s images/s, in the order they ran): 5" \
        "</summary>" in page
    csv_text = render(_report(engine, run_pk), "csv")
    assert "Software vs machine,cpu-bs1-fp32,images_per_s,-6.1%" in csv_text


def test_a_failed_pairing_says_why_in_the_line_and_the_table(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "failed pairs")
    why = "the control's environment could not import torch"
    add_paired_night(engine, run_pk, (PairedCase(
        verdict="failed", ratio=None, ci_low=None, ci_high=None, mde=None, detail=why,
        pairs=()),))
    markdown = render_markdown(_report(engine, run_pk))
    assert f"- cpu-bs1-fp32: software: failed: {why}; machine: unchanged;" in markdown
    assert "| Packages changed | Detail |" in markdown and f"| {why} |" in markdown
    assert "## Pairs" not in markdown  # none completed


def test_a_night_in_the_baselines_lock_says_it_was_not_paired(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "same lock")
    set_run_lock(engine, run_pk, CONTROL)
    markdown = render_markdown(_report(engine, run_pk))
    assert (f"## Software vs machine\n\n- software: same lock as the baseline night "
            f"({CONTROL[:12]}): not paired\n") in markdown
    assert "## Pairs" not in markdown and "| Case | Metric | Ratio |" not in markdown
    assert "not paired" in render_html(_report(engine, run_pk))


def test_a_night_without_a_lock_or_pairs_has_no_such_section(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "before locks")
    report = _report(engine, run_pk)
    assert "Software vs machine" not in render_markdown(report)
    assert "Software vs machine" not in render_html(report)
    assert "Software vs machine" not in render(report, "csv")


def test_segbench_report_reads_the_paired_section_from_the_store(sqlite_url_at_head):
    engine = store.connect(sqlite_url_at_head)
    run_pk = _night(engine, "paired")
    add_paired_night(engine, run_pk)
    assert f"- cpu-bs1-fp32: {ISSUE}" in render(
        nightly.stored_report(run_pk, db_url=sqlite_url_at_head))


# --- the alert ------------------------------------------------------------------------------

def test_the_alert_names_a_paired_software_regression_by_its_sentence(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "paired")
    add_paired_night(engine, run_pk)
    alert = message.from_store(engine, run_pk)
    assert alert.subject == f"segbench: 1 regression in run {run_pk} (paired): cpu-bs1-fp32"
    assert f"- cpu-bs1-fp32: {ISSUE}" in alert.text
    [regression] = alert.payload["paired_regressions"]
    assert (regression["ratio"], regression["ci_low"], regression["ci_high"]) == (
        0.939, 0.928, 0.950)
    assert regression["packages_changed"] == ["torch 2.14.0 -> 2.14.1"]
    assert alert.payload["machine_only"] == []


def test_the_alert_says_when_only_the_machine_moved(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "paired")
    add_paired_night(engine, run_pk, (PairedCase(
        verdict="unchanged", ratio=0.998, ci_low=0.99, ci_high=1.004,
        machine_verdict="regression", machine_change=-0.079, packages_changed=()),))
    alert = message.from_store(engine, run_pk)
    assert alert.subject.startswith("segbench: 0 regressions")
    assert ("- cpu-bs1-fp32: machine slower; software unchanged (software: within +-1.0% of "
            "the control (5 pairs, MDE 2.1%); machine: 7.9% slower than its earlier nights; "
            "packages changed: none)") in alert.text
    [moved] = alert.payload["machine_only"]
    assert moved["said"] == "machine slower; software unchanged"


def test_the_alert_of_a_night_in_the_baselines_lock_says_it_was_not_paired(db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "same lock")
    set_run_lock(engine, run_pk, CONTROL)
    assert unpaired_line(CONTROL) in message.from_store(engine, run_pk).text
    plain = _night(engine, "before locks", 1)
    assert "paired" not in message.from_store(engine, plain).text


# --- SQL ------------------------------------------------------------------------------------

def _cookbook(name: str) -> Path:
    [path] = (ROOT / "docs" / "cookbook").glob(f"{name}*.sql")
    return path


def _query(engine, path: Path):
    with engine.connect() as conn:
        rows = conn.execute(text(path.read_text()))
        return list(rows.keys()), [dict(r._mapping) for r in rows]


@pytest.mark.postgres
def test_the_cookbook_finds_tonights_software_regressions_and_each_pairs_order(pg_url_at_head):
    engine = store.connect(pg_url_at_head)
    earlier = _night(engine, "earlier", -1)
    add_paired_night(engine, earlier, (PairedCase(case_key="cpu-bs2-fp32"),))
    tonight = _night(engine, "tonight")
    add_paired_night(engine, tonight, (PairedCase(), PairedCase(
        case_key="cpu-bs4-fp32", verdict="unchanged", ratio=1.0, ci_low=0.99, ci_high=1.01)))

    columns, rows = _query(engine, _cookbook("9_"))
    assert columns == ["started_at", "case_key", "metric", "change", "ci_low_change",
                       "ci_high_change", "pairs", "mde", "machine_verdict", "machine_change",
                       "packages_changed"]
    # tonight's only: not the earlier night's, not tonight's unchanged case
    assert [(r["case_key"], round(r["change"], 3), r["packages_changed"]) for r in rows] == [
        ("cpu-bs1-fp32", -0.061, ["torch 2.14.0 -> 2.14.1"])]

    columns, rows = _query(engine, _cookbook("10_"))
    assert columns == ["case_key", "pair", "mode", "first", "control_images_per_s",
                       "treatment_images_per_s", "ratio"]
    assert [(r["case_key"], r["pair"], r["first"], r["control_images_per_s"],
             r["treatment_images_per_s"]) for r in rows[:2]] == [
        ("cpu-bs1-fp32", 0, "treatment", 10.0, 9.4), ("cpu-bs1-fp32", 1, "control", 10.1, 9.5)]
    assert len(rows) == 10 and {r["case_key"] for r in rows} == {"cpu-bs1-fp32", "cpu-bs4-fp32"}
    store.database.dispose(pg_url_at_head)
