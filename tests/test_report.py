from factories import judge, result

from segtasks import nightly, store
from segtasks.report import tables
from segtasks.report.markdown import render
from segtasks.report.tables import SEED_COLUMNS
from segtasks.store import repository


def test_seed_columns_and_speedups_come_from_stored_rows(db_url):
    engine = store.connect(db_url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="x")
    for bs, fps, reserved in [(1, 100.0, 2**30), (2, 150.0, 3 * 2**29), (4, 165.0, 2**31)]:
        repository.save_result(engine, run_pk, result(device="cuda", batch_size=bs,
                                                      images_per_s=fps, reserved=reserved))
    repository.save_result(engine, run_pk, result(device="cuda", batch_size=8, status="oom",
                                                  reason="CUDA out of memory"))
    seed = tables.seed_rows(repository.run_results(engine, run_pk))
    rows = seed["CUDA fp32"]
    assert list(rows[0])[: len(SEED_COLUMNS)] == list(SEED_COLUMNS)
    assert [r["Batch Size"] for r in rows] == ["1", "2", "4", "8"]
    assert [r["FPS"] for r in rows[:3]] == ["100.0000", "150.0000", "165.0000"]
    assert [r["Time Taken per Image (ms)"] for r in rows[:3]] == ["10.0000", "6.6667", "6.0606"]
    assert [r["CUDA Memory Consumption (GB)"] for r in rows[:3]] == ["1.0000", "1.5000", "2.0000"]
    assert [r["Improvement over Batch Size 1"] for r in rows[:3]] == ["1x", "1.5x", "1.65x"]
    assert [r["Improvement over Previous Row"] for r in rows[:3]] == ["-", "1.5x", "1.1x"]
    assert [(r["p90 Latency (ms)"], r["Stable"]) for r in rows[:3]] == [("101.600", "yes")] * 3
    assert rows[3]["FPS"] == "-" and rows[3]["Status"] == "oom: CUDA out of memory"
    # activation memory per image: the slope of the steady peak (512, 768, 1024 MiB at
    # batch sizes 1, 2, 4), not one case's peak less its weights, which holds cuDNN's workspace
    (line,) = tables.activation_lines(repository.run_results(engine, run_pk)).values()
    assert line.startswith("Activation memory: 164.6 MiB per image (slope of the steady-state "
                           "peak allocated memory over batch sizes 1-4, 3 cases); 384 MiB")


def test_markdown_and_csv_renderings_hold_the_same_table(db_url):
    engine = store.connect(db_url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="x")
    repository.save_result(engine, run_pk, result(batch_size=1, images_per_s=4.0))
    report = nightly.stored_report(run_pk, db_url=db_url)
    markdown = render(report)
    assert "## CPU fp32" in markdown
    assert "| Batch Size | Time Taken (s) | Time Taken per Image (ms) | FPS |" in markdown
    assert "| 1 | 1.0000 | 250.0000 | 4.0000 | - | 1x | - |" in markdown
    csv_text = render(report, "csv")
    header, line = csv_text.splitlines()
    assert header.startswith("Table,Batch Size,Time Taken (s)")
    assert line.startswith("CPU fp32,1,1.0000,250.0000,4.0000,-,1x,-")


def test_html_report_is_self_contained_with_plots_and_the_regressed_trend(sqlite_url,
                                                                          tmp_path):
    from datetime import UTC, datetime, timedelta

    from segtasks.report import files
    from segtasks.store.schema import Run

    store.upgrade(sqlite_url)
    engine = store.connect(sqlite_url)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for night, ips in enumerate([10.0, 10.1, 9.9, 10.0, 7.0]):
        run_pk = repository.open_run(engine, dag_id="d", run_id=f"n{night}",
                                     trigger="scheduled", params={}, code_version="x")
        with repository._session(engine) as session, session.begin():
            session.get_one(Run, run_pk).started_at = start + timedelta(days=night)
        for bs in (1, 2):
            repository.save_result(engine, run_pk, result(batch_size=bs, images_per_s=ips * bs,
                                                          reserved=2**30 * bs))
    judge(engine, run_pk)
    path = files.write(nightly.stored_report(run_pk, db_url=sqlite_url), tmp_path / "r")
    page = path.read_text()
    assert path.name == "report.html" and (tmp_path / "r" / "report.md").is_file()
    assert "Regressions: cpu-bs1-fp32 (images_per_s)" in page
    assert page.count('src="data:image/png;base64,') == 4  # speed, memory, two trends
    assert 'alt="cpu-bs1-fp32 images_per_s trend"' in page
    assert "<h2>CPU fp32</h2>" in page and "http" not in page.split("<body>")[1]


def test_a_disturbed_case_is_shown_with_its_cause_and_its_evidence(db_url):
    engine = store.connect(db_url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="x")
    cause = "other processes used 48% of the cores in use (at most 10% allowed)"
    quiet = result(batch_size=1)
    quiet.telemetry.cpu_energy_reason = "no RAPL on this machine (/sys/class/powercap ...)"
    repository.save_result(engine, run_pk, quiet)
    repository.save_result(engine, run_pk, result(batch_size=2, disturbed=cause))
    rows = repository.run_results(engine, run_pk)
    seed = tables.seed_rows(rows)["CPU fp32"]
    assert [r["Status"] for r in seed] == ["ok", f"disturbed: {cause}"]
    assert seed[1]["FPS"] != "-"  # its figures are shown, only not compared
    telemetry = tables.telemetry_rows(rows)
    assert [(t["Case"], t["Valid"], t["Interference"], t["Attempts"]) for t in telemetry] == [
        ("cpu-bs1-fp32", "yes", "1.0%", "1"), ("cpu-bs2-fp32", "no", "48.0%", "2")]
    assert telemetry[0]["CPU J/img"] == "n/a (no RAPL on this machine)"
    assert "GPU W (mean)" not in telemetry[0]  # CPU cases have no GPU columns
    markdown = render(nightly.stored_report(run_pk, db_url=db_url))
    assert "## Validity and telemetry (timed loop)" in markdown
