"""The results pages and their JSON API on known nights, in PostgreSQL and SQLite.

These use `segbench serve`'s access rules (no Airflow); test_ui_airflow.py checks the
same routes behind Airflow's authentication.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from ui_history import CPU_BS1, DAG_ID, fill, run_id

from segtasks import store
from segtasks.judge.decide import POWER_Z
from segtasks.store.schema import Run
from segtasks.ui import engines
from segtasks.ui.access import LocalAccess
from segtasks.ui.app import build_app
from segtasks.ui.settings import UiSettings

H = "cpu=Test CPU (2 threads); gpu=none"
HQ = urlencode({"hardware": H})


def client(url: str, *, allow_edits: bool = False, reader: str | None = None,
           airflow_url: str | None = "") -> TestClient:
    settings = UiSettings(writer_url=url, reader_url=reader or url, airflow_url=airflow_url)
    app = build_app(lambda: settings, LocalAccess("tester", allow_edits=allow_edits))
    return TestClient(app)


@pytest.fixture
def history(db_url):
    found = fill(db_url)
    yield found
    engines.dispose(db_url)


def page_routes(history) -> list[str]:
    return ["/", f"/dags/{DAG_ID}", f"/dags/{DAG_ID}/runs/{quote(run_id(4), safe='')}",
            f"/runs/{history.last}", "/series/cpu-bs1-fp32", "/compare",
            "/static/charts.js"]


def api_routes(history) -> list[str]:
    return ["/api/overview", f"/api/runs/{history.last}",
            f"/api/dags/{DAG_ID}/runs/{quote(run_id(4), safe='')}",
            "/api/series/cpu-bs1-fp32", "/api/compare"]


def test_every_page_and_api_route_answers_with_data_and_safe_headers(history):
    c = client(history.url)
    for path in page_routes(history) + api_routes(history):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert re.fullmatch(r"app;dur=[0-9.]+", r.headers["server-timing"])
        if path.startswith("/api/"):
            assert r.headers["content-type"] == "application/json"
        elif not path.startswith("/static/"):
            assert "<h1>" in r.text and 'class="chart-box"' in r.text


def test_the_overview_shows_the_latest_night_per_device_and_the_open_regression(history):
    data = client(history.url).get("/api/overview").json()
    groups = {(g["device"], g["hardware_key"]): g for g in data["groups"]}
    assert set(groups) == {("cpu", H), ("cuda", H)}
    cpu = groups[("cpu", H)]
    assert cpu["run"]["run_id"] == run_id(4)
    table = cpu["tables"][0]
    assert table["title"] == "CPU fp32"
    # the seed's columns, ours, then the pages' own
    for column in ("Batch Size", "FPS", "Improvement over Batch Size 1", "Inference img/s",
                   "p90 Latency (ms)", "Verdict", "Series", "Airflow task"):
        assert column in table["columns"]
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
    assert [(r["Batch Size"]["text"], r["Inference img/s"]["text"]) for r in rows] == [
        ("1", "8.0000"), ("2", "15.0000")]
    assert (rows[0]["Verdict"]["text"], rows[0]["Verdict"]["tone"]) == ("regression", "bad")
    assert rows[1]["Verdict"]["text"] == "unchanged"
    assert rows[0]["Series"]["href"] == f"/series/cpu-bs1-fp32?{HQ}"
    [item] = data["attention"]["items"]
    assert (item["case_key"], item["metric"], item["verdict"], item["kind"]) == (
        "cpu-bs1-fp32", "images_per_s", "regression", "regression")
    assert item["relative_change"] == pytest.approx(-0.2)
    assert item["answered"] is None
    assert item["since"]["run_id"] == run_id(4) and item["nights"] == 1
    assert [r["run_id"] for r in data["runs"]] == [run_id(n) for n in range(4, -1, -1)]
    assert data["runs"][0]["verdicts"]["regression"] == 1
    [chart] = data["charts"]  # one machine: CPU and GPU on one chart, each on its axis
    assert chart["x"]["kind"] == "log2" and chart["xs"] == [1, 2]
    assert [a["scale"] for a in chart["axes"]] == ["cpu", "cuda"]
    assert {s["label"]: s["values"] for s in chart["series"]} == {
        "CPU fp32": [8.0, 15.0], "CUDA fp32": [400.0, None]}


def test_a_running_night_shows_its_progress_and_the_overview_follows_it(history):
    from factories import result

    from segtasks.store import repository

    engine = store.connect(history.url)
    running = repository.open_run(engine, dag_id=DAG_ID, run_id="manual__tonight",
                                  trigger="manual", params={}, code_version="def",
                                  planned_cases=["cpu-bs1-fp32", "cpu-bs2-fp32",
                                                 "cuda-bs1-fp32"])
    repository.save_result(engine, running, result(batch_size=1))
    c = client(history.url)
    data = c.get("/api/overview").json()
    assert data["runs"][0]["state"] == "running"
    assert data["runs"][0]["progress"]["text"] == "1 of 3 cases measured"
    assert data["refresh_s"] == 30
    page = c.get("/").text
    assert '<meta http-equiv="refresh" content="30">' in page
    assert "1 of 3 cases measured" in page
    # its own page says so too, and follows it
    run_data = c.get(f"/api/runs/{running}").json()
    assert (run_data["progress"], run_data["refresh_s"]) == ("1 of 3 cases measured", 30)
    run_page = c.get(f"/runs/{running}").text
    assert '<meta http-equiv="refresh" content="30">' in run_page
    assert "Running: 1 of 3 cases measured" in run_page
    # closed with a case killed: no refresh any more, the night says what did not finish
    repository.finish_run(engine, running, "incomplete",
                          ["cpu-bs2-fp32: not measured (bench_cpu[1] failed)",
                           "cuda-bs1-fp32: not measured (bench_cuda[0] failed)"])
    data = c.get("/api/overview").json()
    assert data["refresh_s"] is None and data["runs"][0]["progress"] is None
    assert data["runs"][0]["unfinished"][0] == "cpu-bs2-fp32: not measured (bench_cpu[1] failed)"
    night = next(i for i in data["attention"]["items"] if i["kind"] == "night failed")
    assert (night["verdict"], night["since"]["run_id"]) == ("incomplete", "manual__tonight")
    assert c.get(f"/api/runs/{running}").json()["refresh_s"] is None
    assert "http-equiv" not in c.get(f"/runs/{running}").text
    page = c.get("/").text
    assert "http-equiv" not in page and "2 not finished" in page
    assert "bench_cuda[0] failed" in page


def test_the_run_page_has_the_reports_tables_verdicts_charts_and_task_links(history):
    data = client(history.url).get(f"/api/runs/{history.last}").json()
    assert data["run"]["run_id"] == run_id(4)
    assert [(r["case_key"], r["metric"]) for r in data["regressions"]] == [
        ("cpu-bs1-fp32", "images_per_s")]
    assert [t["title"] for t in data["tables"]] == ["CPU fp32", "CUDA fp32"]
    cpu = data["tables"][0]
    task = [dict(zip(cpu["columns"], row, strict=True))["Airflow task"] for row in cpu["rows"]]
    prefix = f"/dags/{DAG_ID}/runs/{quote(run_id(4), safe='')}/tasks/bench_cpu/mapped"
    # the map index the DAG gave each case: its place among its device's cases
    assert [t["href"] for t in task] == [f"{prefix}/0", f"{prefix}/1"]
    verdicts = data["verdicts"]
    assert "Verdict" in verdicts["columns"] and "Min effect" in verdicts["columns"]
    # what each series can see (its minimum detectable effect), beside its verdict
    sees = [dict(zip(verdicts["columns"], row, strict=True))["Sees"]["text"]
            for row in verdicts["rows"]]
    assert any(text.startswith(">= ") and text.endswith("%") for text in sees)
    assert [c["text"] for c in data["phases"]["rows"][0]][:1] == ["cpu-bs1-fp32"]
    charts = {c["id"]: c for c in data["charts"]}
    assert {s["label"] for s in charts["run-speed"]["series"]} == {"CPU fp32", "CUDA fp32"}
    assert charts["run-memory"]["axes"][0]["label"] == "peak memory (GiB)"
    cuda_reserved = next(s for s in charts["run-memory"]["series"]
                         if s["label"] == "CUDA fp32 CUDA reserved")
    assert cuda_reserved["values"] == [2.0, None]
    trend = charts["run-trend-0"]  # the regressed series' nights, tonight last
    assert [s["values"] for s in trend["series"] if s["label"] == "Inference throughput"] == [
        list(CPU_BS1)]
    assert trend["x"]["kind"] == "time"
    assert data["compare_previous"] == f"/compare?a={history.run_pks[3]}&b={history.last}"
    assert len(data["results"]) == 3 and "images_per_s" in data["results"][0]


def test_the_run_page_recommends_a_configuration_per_device_and_hardware(history):
    c = client(history.url)
    data = c.get(f"/api/runs/{history.last}").json()
    recs = {r["device"]: r for r in data["recommendations"]}
    # tonight bs2 (15 images/s) beats bs1 (8) with the same p90 and memory
    assert recs["cpu"]["best_case"] == "cpu-bs2-fp32"
    assert recs["cpu"]["text"] == (
        f"Fastest: on {H}, fp32 + contiguous + eager at batch size 2: 1.00 times the fp32 "
        "eager throughput (15 images/s, p90 101.6 ms), 1.00 GiB")
    front = recs["cpu"]["front"]
    assert [dict(zip(front["columns"], r, strict=True))["Case"]["text"]
            for r in front["rows"]] == ["cpu-bs2-fp32"]
    assert recs["cuda"]["best_case"] == "cuda-bs1-fp32"
    page = c.get(f"/runs/{history.last}").text
    assert "<h3>Recommendation</h3>" in page and recs["cpu"]["text"] in page


def test_the_run_tab_finds_the_run_by_its_airflow_ids(history):
    c = client(history.url)
    r = c.get(f"/dags/{DAG_ID}/runs/{quote(run_id(4), safe='')}")
    assert r.status_code == 200 and "<h1>Night 5 · 5 Oct 02:00 · code def</h1>" in r.text
    assert f"segbench_nightly / {run_id(4)}" in r.text  # Airflow's ids, below the title
    missing = c.get(f"/dags/{DAG_ID}/runs/manual__2026-12-01T00:00:00+00:00")
    assert missing.status_code == 404 and "No results for this run yet" in missing.text


def test_a_tab_on_another_dag_says_there_is_nothing_to_show(history):
    c = client(history.url)
    for path in ("/dags/example_etl", "/dags/example_etl/runs/manual__1"):
        r = c.get(path)
        assert r.status_code == 200
        assert "is not a segbench DAG" in r.text and "cpu-bs1" not in r.text


def test_the_series_has_every_night_its_band_markers_and_software_changes(history):
    data = client(history.url).get("/api/series/cpu-bs1-fp32").json()
    assert data["hardware_key"] == H
    nights = data["nights"]
    assert [n["values"]["images_per_s"] for n in nights] == list(CPU_BS1)
    assert [n["software_changes"] for n in nights][3] == ["code abc -> def"]
    last = nights[-1]["verdicts"]["images_per_s"]
    assert last["verdict"] == "regression"
    # the band is baseline x (1 +- the smallest change the judge flags: the larger of the
    # minimum effect lowered by 1.2816 noise units and z_threshold x noise)
    width = max(0.05 - POWER_Z * last["noise"], 3.0 * last["noise"])
    assert last["band"] == pytest.approx([10.0 * (1 - width), 10.0 * (1 + width)])
    speed = next(c for c in data["charts"] if "Inference throughput" in c["title"])
    labels = [s["label"] for s in speed["series"]]
    assert labels[:3] == ["Inference throughput", "band high", "band low"]
    assert speed["bands"] == [[1, 2]]
    regression = next(s for s in speed["series"] if s["label"] == "regression")
    assert regression["values"] == [None, None, None, None, 8.0]
    assert [e["kind"] for e in speed["events"]] == ["software"]
    memory = next(c for c in data["charts"] if "Peak memory" in c["title"])
    assert [s["label"] for s in memory["series"]][0] == "Host peak RSS"


def test_an_unknown_series_run_or_case_key_is_a_404_or_refused(history):
    c = client(history.url)
    assert c.get("/series/cpu-bs64-fp32").status_code == 404
    assert c.get("/api/series/cpu-bs64-fp32").json() == {
        "detail": "no results stored for case cpu-bs64-fp32"}
    assert c.get("/series/cpu-bs1-fp32", params={"hardware": "another"}).status_code == 404
    assert c.get("/runs/999").status_code == 404
    assert c.get("/api/runs/999").json() == {"detail": "no stored run with id 999"}
    assert c.get("/series/'; DROP TABLE runs;--").status_code == 422  # not a case key
    assert c.get("/runs/1 OR 1=1").status_code == 422
    assert c.get("/static/../app.py").status_code == 404
    assert c.get("/static/app.py").status_code == 404


def test_compare_says_which_changes_exceed_the_noise(history):
    first = history.run_pks[0]
    data = client(history.url).get("/api/compare", params={"a": first, "b": history.last}).json()
    assert (data["a"]["id"], data["b"]["id"]) == (first, history.last)
    rows = {r["case_key"]: r["metrics"] for r in data["rows"]}
    slower = rows["cpu-bs1-fp32"]["images_per_s"]
    assert slower["change"] == pytest.approx(-0.2)
    assert slower["beyond_noise"] and slower["worse"] and slower["word"] == "worse"
    steady = rows["cpu-bs2-fp32"]["images_per_s"]
    assert steady["change"] == pytest.approx(0.0) and steady["word"] == "within noise"
    assert rows["cuda-bs1-fp32"]["cuda_peak_reserved_bytes"]["change"] == pytest.approx(0.0)
    # without arguments: the latest run against the one before it
    default = client(history.url).get("/api/compare").json()
    assert (default["a"]["id"], default["b"]["id"]) == (history.run_pks[3], history.last)


def test_an_editor_excludes_a_night_and_it_is_recorded_with_the_name(history):
    c = client(history.url, allow_edits=True)
    night = history.run_pks[3]
    form = {"run": night, "reason": "a backup ran", "case_key": "cpu-bs1-fp32",
            "hardware_key": H}
    r = c.post("/actions/exclude", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/series/cpu-bs1-fp32?{HQ}&done=excluded"
    run = _run(history.url, night)
    assert (run.excluded, run.excluded_reason, run.excluded_by) == (True, "a backup ran",
                                                                     "tester")
    page = c.get(r.headers["location"]).text
    assert "The night is excluded from baselines" in page and "excluded by tester" in page
    r = c.post("/actions/include", data={k: v for k, v in form.items() if k != "reason"},
               follow_redirects=False)
    assert r.status_code == 303 and not _run(history.url, night).excluded


def test_an_editor_accepts_a_level_and_undoes_it(history):
    c = client(history.url, allow_edits=True)
    form = {"run": history.last, "reason": "new code, on purpose", "case_key": "cpu-bs1-fp32",
            "hardware_key": H}
    assert c.post("/actions/accept-level", data=form, follow_redirects=False).status_code == 303
    with store.connect(history.url).connect() as conn:
        level = conn.execute(text("SELECT id, from_run_pk, accepted_by, reason "
                                  "FROM baseline_levels")).one()
    assert (level.from_run_pk, level.accepted_by, level.reason) == (
        history.last, "tester", "new code, on purpose")
    overview = c.get("/api/overview").json()
    # answered: off the list, kept among the answered ones with who answered and how
    assert overview["attention"]["items"] == []
    [answered] = overview["attention"]["answered"]
    assert (answered["case_key"], answered["kind"]) == ("cpu-bs1-fp32", "regression")
    assert answered["answered"] == (
        f"new level accepted by tester from run {history.last}: new code, on purpose")
    series = c.get("/api/series/cpu-bs1-fp32").json()
    assert [e["kind"] for e in series["charts"][0]["events"]] == ["software", "level"]
    r = c.post("/actions/undo-level", data={"level": level.id, "case_key": "cpu-bs1-fp32",
                                            "hardware_key": H}, follow_redirects=False)
    assert r.status_code == 303
    with store.connect(history.url).connect() as conn:
        assert conn.execute(text("SELECT undone_by FROM baseline_levels")).scalar() == "tester"
    again = c.post("/actions/undo-level", data={"level": level.id, "case_key": "cpu-bs1-fp32",
                                                "hardware_key": H})
    assert again.status_code == 404


def test_actions_refuse_other_series_runs_cross_site_forms_and_empty_reasons(history):
    c = client(history.url, allow_edits=True)
    form = {"run": history.last, "reason": "x", "case_key": "cpu-bs1-fp32", "hardware_key": H}
    assert c.post("/actions/exclude", data={**form, "case_key": "cpu-bs8-fp32"}
                  ).status_code == 404  # that run never measured it
    assert c.post("/actions/exclude", data={**form, "run": 999}).status_code == 404
    assert c.post("/actions/exclude", data={**form, "reason": ""}).status_code == 422
    assert c.post("/actions/exclude", data=form,
                  headers={"origin": "https://evil.example"}).status_code == 403
    assert c.post("/actions/exclude", data=form, headers={"origin": "http://testserver"},
                  follow_redirects=False).status_code == 303
    assert not _run(history.url, history.run_pks[0]).excluded


def test_a_read_only_server_refuses_every_action_and_shows_no_forms(history):
    c = client(history.url, allow_edits=False)
    form = {"run": history.last, "reason": "x", "case_key": "cpu-bs1-fp32", "hardware_key": H,
            "level": 1}
    for action in ("exclude", "include", "accept-level", "undo-level"):
        r = c.post(f"/actions/{action}", data=form)
        assert r.status_code == 403 and "read-only server" in r.json()["detail"]
    page = c.get("/series/cpu-bs1-fp32").text
    assert "<form method=\"post\"" not in page and "needs edit access" in page
    with store.connect(history.url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM baseline_levels")).scalar() == 0


def test_the_pages_read_through_a_connection_that_cannot_write(history):
    engine = engines.read_only_engine(history.url)
    with pytest.raises(Exception, match="read-only|readonly") as err, engine.begin() as conn:
        conn.execute(text("UPDATE runs SET state = 'tampered'"))
    assert "read" in str(err.value).lower()
    assert _run(history.url, history.last).state == "success"


def test_a_schema_behind_the_code_is_named_with_the_fix(sqlite_url):
    store.upgrade(sqlite_url, "0006")
    r = client(sqlite_url).get("/api/overview")
    assert r.status_code == 503
    assert "run `segbench db upgrade`" in r.json()["detail"]
    engines.dispose(sqlite_url)


def test_an_empty_database_gets_a_helpful_overview(db_url):
    r = client(db_url).get("/")
    assert r.status_code == 200 and "No results stored yet" in r.text
    assert client(db_url).get("/api/compare").status_code == 404
    engines.dispose(db_url)


def _run(url: str, pk: int) -> Run:
    from sqlalchemy.orm import Session

    with Session(store.connect(url)) as session:
        run = session.get_one(Run, pk)
        session.expunge(run)
        return run



@pytest.mark.postgres
def test_the_database_password_never_reaches_a_page(pg_url):
    store.upgrade(pg_url)
    history = fill(pg_url)
    secret = "s3cret-Passw0rd"
    # the local server trusts any password; the pages must still never show it
    with_password = pg_url.replace("postgres@", f"postgres:{secret}@")
    c = client(pg_url, reader=with_password)
    for path in page_routes(history) + api_routes(history):
        r = c.get(path)
        assert r.status_code == 200 and secret not in r.text, path
    assert "postgres:***@" in c.get("/").text
    down = client(pg_url, reader=f"postgresql://bench:{secret}@127.0.0.1:1/results")
    r = down.get("/")
    assert r.status_code == 503 and secret not in r.text
    assert "cannot read the results database at postgresql+psycopg2://bench:***@127" in r.text
    engines.dispose(with_password)
