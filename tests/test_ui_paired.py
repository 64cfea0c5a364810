"""Paired nights on the results pages: the run page opens with software vs machine, the
series page lists its paired nights; pages of nights without pairs stay as they were."""

from __future__ import annotations

import pytest
from markupsafe import escape
from paired_nights import CONTROL, PairedCase, add_paired_night, set_run_lock
from test_ui import client
from ui_history import fill

from segtasks import store
from segtasks.report.paired import paired_line, unpaired_line
from segtasks.store.paired_reads import paired_verdicts_of_run
from segtasks.ui import engines


@pytest.fixture
def paired(db_url):
    """The pages' five nights; the last one paired (cpu-bs1-fp32 6.1% slower in software,
    cpu-bs2-fp32 unchanged while its machine got slower), the one before in the baseline's
    own lock."""
    history = fill(db_url)
    engine = store.connect(db_url)
    add_paired_night(engine, history.last, (PairedCase(), PairedCase(
        case_key="cpu-bs2-fp32", verdict="unchanged", ratio=0.998, ci_low=0.99, ci_high=1.004,
        machine_verdict="regression", machine_change=-0.079)))
    set_run_lock(engine, history.run_pks[-2], CONTROL)
    yield history
    engines.dispose(db_url)


def test_the_run_page_opens_with_software_vs_machine_and_folds_the_pairs(paired):
    c = client(paired.url)
    data = c.get(f"/api/runs/{paired.last}").json()
    stored = paired_verdicts_of_run(store.connect(paired.url), paired.last)
    section = data["paired"]
    assert [(line["label"], line["text"], line["tone"]) for line in section["lines"]] == [
        ("cpu-bs1-fp32", paired_line(stored[0]), "bad"),
        ("cpu-bs2-fp32", paired_line(stored[1]), "bad")]  # the machine regressed
    assert section["lines"][0]["href"].startswith("/series/cpu-bs1-fp32?hardware=")
    rows = [dict(zip(section["table"]["columns"], row, strict=True))
            for row in section["table"]["rows"]]
    assert [(r["Case"]["text"], r["Ratio"]["text"], r["Software"]["text"],
             r["Software"]["tone"], r["Machine"]["text"]) for r in rows] == [
        ("cpu-bs1-fp32", "-6.1%", "regression", "bad", "unchanged"),
        ("cpu-bs2-fp32", "-0.2%", "unchanged", "ok", "regression")]
    assert section["pair_count"] == 10 and len(section["pairs"]["rows"]) == 10
    assert [v["ratio"] for v in data["paired_verdicts_stored"]] == [0.939, 0.998]

    page = c.get(f"/runs/{paired.last}").text
    assert page.index("<h2>Software vs machine</h2>") < page.index("<h3>CPU fp32</h3>")
    assert escape(paired_line(stored[0])) in page
    assert '<details class="pairs"><summary>Pairs' in page


def test_a_run_without_pairs_has_no_section_and_one_in_the_baselines_lock_says_so(paired):
    c = client(paired.url)
    first = paired.run_pks[0]
    assert c.get(f"/api/runs/{first}").json()["paired"] is None
    assert "Software vs machine" not in c.get(f"/runs/{first}").text
    same = c.get(f"/api/runs/{paired.run_pks[-2]}").json()["paired"]
    assert [line["text"] for line in same["lines"]] == [unpaired_line(CONTROL)]
    assert same["table"] is None and same["pairs"] is None
    assert escape(unpaired_line(CONTROL)) in c.get(f"/runs/{paired.run_pks[-2]}").text


def test_the_series_page_lists_its_paired_nights(paired):
    c = client(paired.url)
    data = c.get("/api/series/cpu-bs2-fp32").json()
    table = data["paired_table"]
    [row] = [dict(zip(table["columns"], r, strict=True)) for r in table["rows"]]
    assert row["Run"]["href"] == f"/runs/{paired.last}"
    assert (row["Ratio"]["text"], row["Software"]["text"], row["Machine"]["text"],
            row["Machine"]["tone"]) == (
        "-0.2%", "unchanged", "7.9% slower than its earlier nights", "bad")
    assert "Paired nights: software vs machine" in c.get("/series/cpu-bs2-fp32").text
    # a series never paired shows no such table
    assert c.get("/api/series/cuda-bs1-fp32").json()["paired_table"] is None
    assert "Paired nights" not in c.get("/series/cuda-bs1-fp32").text
