"""Bisections on the results pages: the run page's Bisection section (each case's sentence
and its steps), after software vs machine; nights without one stay as they were."""

from __future__ import annotations

from dataclasses import replace

import pytest
from bisection_example import LINE, NUMPY, add_bisection, example
from markupsafe import escape
from paired_nights import PairedCase, add_paired_night
from test_ui import client
from ui_history import fill

from segtasks import store
from segtasks.alerts import message
from segtasks.domain.bisection import BisectionOutcome, ChangeGroup
from segtasks.report.bisection import bisection_line
from segtasks.store.bisections import start_bisection
from segtasks.ui import engines


@pytest.fixture
def bisected(db_url):
    """The pages' five nights; the last one paired, both CPU cases slower in software:
    cpu-bs1-fp32 (a new regression of its series too) bisected to torch, cpu-bs2-fp32's
    bisection still running."""
    history = fill(db_url)
    engine = store.connect(db_url)
    add_paired_night(engine, history.last, (PairedCase(), PairedCase(case_key="cpu-bs2-fp32")))
    add_bisection(engine, history.last)
    start_bisection(engine, history.last, example(
        case_key="cpu-bs2-fp32", outcome=BisectionOutcome.INCONCLUSIVE, culprit=(), steps=(),
        groups=(ChangeGroup(0, ("torch 2.14.0 -> 2.14.1 <rc>",)), NUMPY)))
    yield history
    engines.dispose(db_url)


def test_the_run_page_lists_each_bisection_with_its_steps(bisected):
    c = client(bisected.url)
    data = c.get(f"/api/runs/{bisected.last}").json()
    section = data["bisection"]
    assert section["title"] == "Bisection"
    done, running = section["items"]
    assert (done["label"], done["text"], done["tone"], done["running"]) == (
        "cpu-bs1-fp32", LINE, "info", False)
    assert done["href"].startswith("/series/cpu-bs1-fp32?hardware=")
    rows = [dict(zip(done["steps"]["columns"], row, strict=True))
            for row in done["steps"]["rows"]]
    assert [(r["Moved"]["text"], r["Verdict"]["text"], r["Verdict"]["tone"], r["Change"]["text"],
             r["+-"]["text"], r["Pairs"]["text"], r["Seconds"]["text"]) for r in rows] == [
        ("torch 2.14.0 -> 2.14.1 (with torchvision 0.29.0 -> 0.29.1)", "regression", "bad",
         "-6.0%", "1.1%", "5", "60"),
        ("numpy 2.3.4 -> 2.3.5", "unchanged", "ok", "+0.2%", "1.0%", "5", "60")]
    assert running["running"] and running["steps"] is None
    assert running["text"] == "bisecting: 0 steps so far (0 s of 600 s)"
    assert [b["case_key"] for b in data["bisections_stored"]] == ["cpu-bs1-fp32", "cpu-bs2-fp32"]

    page = c.get(f"/runs/{bisected.last}").text
    assert page.index("<h2>Software vs machine</h2>") < page.index("<h2>Bisection</h2>") \
        < page.index("<h2>Results</h2>")
    assert str(escape(LINE)) in page
    assert '<td class="wrap"><span>numpy 2.3.4 -&gt; 2.3.5</span></td>' in page


def test_the_pages_escape_what_a_change_says(bisected):
    engine = store.connect(bisected.url)
    add_bisection(engine, bisected.last, replace(
        example(), case_key="cpu-bs4-fp32",
        groups=(ChangeGroup(0, ("segkit 1a2b3c4: <script>alert(1)</script>",)), NUMPY)))
    page = client(bisected.url).get(f"/runs/{bisected.last}").text
    assert "<script>alert(1)</script>" not in page
    assert "segkit 1a2b3c4: &lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_run_without_a_bisection_has_no_such_section(bisected):
    c = client(bisected.url)
    first = bisected.run_pks[0]
    assert c.get(f"/api/runs/{first}").json()["bisection"] is None
    assert "<h2>Bisection</h2>" not in c.get(f"/runs/{first}").text


def test_the_alert_of_a_new_series_regression_names_its_culprit(bisected):
    engine = store.connect(bisected.url)
    alert = message.from_store(engine, bisected.last)
    # cpu-bs1-fp32 regressed 20% in its series tonight; both in software: each one's
    # bisection, finished or not, follows the regressions
    assert (f"Bisection (which change explains it):\n- cpu-bs1-fp32: {bisection_line(example())}"
            "\n- cpu-bs2-fp32: bisecting: 0 steps so far (0 s of 600 s)\n") in alert.text
