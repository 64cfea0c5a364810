"""The pages open with what changed, in words, and name nights as people do: on the
pages' five nights (tests/ui_history.py) and nights after them that did not finish.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from factories import judge, result
from test_ui import client
from ui_history import DAG_ID, START, fill, run_id

from segtasks import store
from segtasks.store import repository
from segtasks.store.schema import Run
from segtasks.ui import engines


@pytest.fixture
def history(db_url):
    found = fill(db_url)
    yield found
    engines.dispose(db_url)


def _night(url: str, night: int, state: str | None,
           cases=((("cpu", 1), 10.0), (("cpu", 2), 15.0), (("cuda", 1), 400.0))) -> int:
    """One more night after the five, with `cases` ((device, batch size), images/s),
    closed as `state` (None: still running)."""
    engine = store.connect(url)
    pk = repository.open_run(engine, dag_id=DAG_ID, run_id=run_id(night), trigger="scheduled",
                             params={"devices": ["cpu", "cuda"], "batch_sizes": [1, 2]},
                             code_version="4ff042b1c2d3")
    with repository._session(engine) as session, session.begin():
        session.get_one(Run, pk).started_at = START + timedelta(days=night)
    for (device, batch_size), ips in cases:
        repository.save_result(engine, pk, result(
            device=device, batch_size=batch_size, images_per_s=ips,
            reserved=2 * 2**30 if device == "cuda" else None))
    judge(engine, pk)
    if state is not None:
        repository.finish_run(engine, pk, state)
    return pk


def test_the_run_page_opens_with_what_changed_in_words_and_the_calm_cases_in_one_badge(
        history):
    c = client(history.url)
    data = c.get(f"/api/runs/{history.last}").json()
    assert data["title"] == data["run"]["label"] == "Night 5 · 5 Oct 02:00 · code def"
    [change] = data["changes"]["items"]
    assert (change["case_key"], change["metric"], change["verdict"]) == (
        "cpu-bs1-fp32", "images_per_s", "regression")
    assert change["change"] == pytest.approx(-0.2)
    assert (change["tonight"], change["baseline"]) == (8.0, 10.0)
    row = dict(zip(data["changes"]["table"]["columns"], data["changes"]["table"]["rows"][0],
                   strict=True))
    assert row["Case"]["href"].startswith("/series/cpu-bs1-fp32?hardware=")
    assert (row["Verdict"]["text"], row["Verdict"]["tone"], row["Change"]["text"]) == (
        "regression", "bad", "-20.0%")
    assert data["changes"]["calm"]["text"] == "2 quiet cases"
    speed = next(c for c in data["charts"] if c["id"] == "run-speed")
    cpu = next(s for s in speed["series"] if s["label"] == "CPU fp32")
    assert cpu["notes"][0].startswith("baseline 10.000 images/s, change -20.0%, z +")
    assert cpu["notes"][1].endswith(": unchanged")
    assert data["changes"]["calm"]["title"] == "nothing to look at: 2 unchanged"

    page = c.get(f"/runs/{history.last}").text
    assert "<title>Night 5 · 5 Oct 02:00 · code def · segbench</title>" in page
    # what changed comes before the seed-style tables and the charts
    assert page.index("<h2>What changed</h2>") < page.index("<h3>CPU fp32</h3>") \
        < page.index('class="chart-box"')
    assert "2 quiet cases</span>" in page
    assert "Compare with the night before</a> · <a" in page  # a space on each side


def test_a_night_with_only_quiet_verdicts_says_nothing_changed(history):
    data = client(history.url).get(f"/api/runs/{history.run_pks[3]}").json()
    assert data["changes"]["items"] == []
    page = client(history.url).get(f"/runs/{history.run_pks[3]}").text
    assert "Nothing changed beyond the noise tonight." in page


def test_the_seed_tables_show_case_and_verdict_first_and_fold_the_rest(history):
    data = client(history.url).get(f"/api/runs/{history.last}").json()
    cpu = data["tables"][0]
    assert cpu["columns"][:2] == ["Batch Size", "Verdict"]
    folded = {c for c, cls in zip(cpu["columns"], cpu["classes"], strict=True)
              if "extra" in cls}
    assert {"Time Taken (s)", "Improvement over Previous Row", "Host Peak RSS (GB)"} <= folded
    assert not folded & {"Batch Size", "Verdict", "Inference img/s", "Airflow task"}
    assert cpu["folded"] == len(folded)
    page = client(history.url).get(f"/runs/{history.last}").text
    assert f"more columns ({len(folded)})</span>" in page
    assert '<th scope="col" class="extra">Time Taken (s)</th>' in page


def test_the_series_page_names_its_nights_and_says_its_verdicts_in_words(history):
    data = client(history.url).get("/api/series/cpu-bs1-fp32").json()
    table = data["nights_table"] if "nights_table" in data else None
    assert table is None  # the JSON API leaves the rendered table out
    latest = data["latest"]
    assert latest["run"]["label"] == "Night 5 · 5 Oct 02:00 · code def"
    assert latest["badges"][0]["text"] == "Inference throughput: regression -20.0%"
    assert latest["badges"][0]["title"].startswith("baseline 10.000 images/s, change -20.0%")
    speed = next(c for c in data["charts"] if "Inference throughput" in c["title"])
    assert speed["labels"][-1] == "Night 5 · 5 Oct 02:00"
    notes = speed["series"][0]["notes"]
    assert notes[-1].startswith("baseline 10.000 images/s, change -20.0%, z +")
    assert notes[-1].endswith(": regression")
    assert notes[0] is not None and notes[0].endswith("new series")

    page = client(history.url).get("/series/cpu-bs1-fp32").text
    nights = page[page.index("<h2>Nights</h2>"):]
    head = nights[:nights.index("</thead>")]
    assert head.index(">Night<") < head.index(">Verdict<") < head.index(">Status<")
    assert ">insufficient history<" in nights and "insufficient_history" not in nights


def test_the_compare_page_opens_with_what_changed_from_a_to_b(history):
    c = client(history.url)
    data = c.get("/api/compare").json()
    [change] = data["changes"]["items"]
    assert (change["case_key"], change["verdict"], change["tonight"], change["baseline"]) == (
        "cpu-bs1-fp32", "regression", 8.0, 10.0)
    assert data["changes"]["calm"]["text"] == "2 within noise"
    # "within noise" says how small a change the two nights could have seen
    assert re.search(r"in images/s they could see changes of \d+\.\d% or more \(the "
                     r"noisiest case: \d+\.\d% or more\)$", data["changes"]["calm"]["title"])
    table = data["table"]
    assert table["columns"][:5] == ["Case", "Status (A → B)", "img/s A", "img/s B",
                                    "img/s change"]
    folded = [c for c, cls in zip(table["columns"], table["classes"], strict=True)
              if "extra" in cls]
    assert folded == ["CUDA GiB A", "CUDA GiB B", "CUDA GiB change", "RSS GiB A",
                      "RSS GiB B", "RSS GiB change"]
    assert data["choices"][0]["label"] == "Night 5 · 5 Oct 02:00 · code def · success"
    cpu = next(s for s in data["charts"][0]["series"] if s["label"] == "CPU fp32")
    assert cpu["notes"][0].startswith("A 10.000, B 8.000 images/s, z +")
    assert cpu["notes"][0].endswith(": worse")
    page = c.get("/compare").text
    assert page.index("What changed from A to B") < page.index("<h2>Every case</h2>")


def test_compare_defaults_to_the_latest_finished_night_against_the_last_with_its_cases(
        history):
    url = history.url
    fewer = _night(url, 5, "success", cases=((("cpu", 1), 10.0),))  # other cases
    same = _night(url, 6, "regressed")
    _night(url, 7, "failed")
    _night(url, 8, "abandoned")
    _night(url, 9, None)  # still running
    c = client(url)
    data = c.get("/api/compare").json()
    assert (data["b"]["id"], data["a"]["id"]) == (same, history.last)
    assert data["b"]["label"] == "Night 7 · 7 Oct 02:00 · code 4ff042b"
    # B picked: A is the latest finished night before it with its cases, else the one
    # sharing the most
    assert c.get("/api/compare", params={"b": fewer}).json()["a"]["id"] == history.last
    assert c.get("/api/compare", params={"b": history.run_pks[2]}).json()["a"]["id"] == \
        history.run_pks[1]
    # the run page's "compare with the night before" follows the same rule
    assert c.get(f"/api/runs/{same}").json()["compare_previous"] == \
        f"/compare?a={history.last}&b={same}"


def test_without_a_finished_night_compare_shows_the_latest_runs(db_url):
    first = _night(db_url, 0, None)
    second = _night(db_url, 1, "failed")
    data = client(db_url).get("/api/compare").json()
    assert (data["a"]["id"], data["b"]["id"]) == (first, second)
    engines.dispose(db_url)
