"""The SQL cookbook of docs/sql.md, run against PostgreSQL after a real night and simulated history.

Each query lives in docs/cookbook/*.sql and is quoted verbatim in docs/sql.md; this test
keeps the two in step and checks each query's shape on a known history.
"""

import copy
from datetime import timedelta
from pathlib import Path

import pytest
from factories import judge, result
from sqlalchemy import text

from segtasks import nightly, store
from segtasks.store import repository
from segtasks.store.schema import Run

ROOT = Path(__file__).resolve().parents[1]
# by number: 10_ comes after 9_, not after 1_
COOKBOOK = sorted((ROOT / "docs" / "cookbook").glob("*.sql"),
                  key=lambda path: int(path.name.split("_")[0]))
FAST = {"warmup_batches": 0, "warmup_seconds": 0, "min_seconds": 0.01, "max_seconds": 0.2,
        "n_images": 1, "end_to_end_seconds": 0, "end_to_end_passes": 1,
        "max_interference": 1, "max_steal": 1}  # a shared, busy test machine

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
DISTURBED = "other processes used 48% of the cores in use (at most 10% allowed)"


def _backdate(engine, run_pk, when):
    with repository._session(engine) as session, session.begin():
        session.get_one(Run, run_pk).started_at = when


@pytest.fixture(scope="module")
def history(pg_databases, pg_template, tiny_inputs, weights_file):
    """A real night (cpu and cuda, batch sizes 1 and 4) after 40 simulated nights of
    cpu-bs4-fp32 on the same machine: torch 2.14 -> current at night -20 (+17.6%), and a
    20% regression at night -3; at night -2, cpu-bs2-fp32 was disturbed."""
    from databases import pg_url_of

    # a copy of the session's migrated template, under a name unique to this run
    name = pg_databases.create("segbench_test_cookbook", template=pg_template)
    url = pg_url_of(name)
    engine = store.connect(url)
    params = {"devices": ["cpu", "cuda"], "batch_sizes": [1, 4], **FAST}
    night = nightly.plan(params)
    real = nightly.open_run(db_url=url, dag_id="segbench_nightly", run_id="real",
                            trigger="manual", params=night).pk
    for case in night.cases:
        nightly.bench(case.to_dict(), real, db_url=url, inputs=tiny_inputs,
                      weights=weights_file)
    nightly.judge_and_close(real, night, db_url=url)

    tonight = next(r for r in repository.run_results(engine, real)
                   if r.case_key == "cpu-bs4-fp32")
    run = repository.get_run(engine, real)
    speed, fingerprint = tonight.images_per_s, tonight.environment.fingerprint
    old_torch = copy.deepcopy(fingerprint)
    old_torch["software"]["torch"] = "2.14.0"
    regression_run = None
    for day in range(40, 0, -1):
        ips = speed * (0.85 if day > 20 else 0.8 if day == 3 else 1.0)
        run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=f"night-{day}",
                                     trigger="scheduled", params=params,
                                     code_version=run.code_version)
        _backdate(engine, run_pk, run.started_at - timedelta(days=day))
        repository.save_result(engine, run_pk, result(
            batch_size=4, images_per_s=ips, hardware=tonight.hardware_key,
            environment=old_torch if day > 20 else fingerprint))
        if day == 3:
            regression_run = run_pk
        if day == 2:  # another case, that night, could not be measured in peace
            repository.save_result(engine, run_pk, result(
                batch_size=2, images_per_s=speed / 2, hardware=tonight.hardware_key,
                environment=fingerprint, disturbed=DISTURBED))
    judge(engine, regression_run)
    yield url
    store.database.dispose(url)
    pg_databases.drop_later(name)


def _query(url, path):
    with store.database.engine(url).connect() as conn:
        rows = conn.execute(text(path.read_text()))
        return list(rows.keys()), [dict(r._mapping) for r in rows]


def test_every_cookbook_query_is_quoted_verbatim_in_docs_sql():
    manual = (ROOT / "docs" / "sql.md").read_text()
    assert len(COOKBOOK) >= 8
    for path in COOKBOOK:
        assert path.read_text().strip() in manual, f"{path.name} differs from docs/sql.md"


def test_latest_table_per_device(history):
    columns, rows = _query(history, COOKBOOK[0])
    assert columns == ["device", "precision", "batch_size", "status", "images_per_s",
                       "latency_p90_ms", "stable", "cuda_reserved_gib", "host_rss_gib"]
    assert [(r["device"], r["batch_size"], r["status"]) for r in rows] == [
        ("cpu", 1, "ok"), ("cpu", 4, "ok"), ("cuda", 1, "skipped"), ("cuda", 4, "skipped")]


def test_trend_of_one_case_over_30_nights(history):
    columns, rows = _query(history, COOKBOOK[1])
    assert columns == ["started_at", "images_per_s", "latency_p90_ms", "ci_rel", "stable",
                       "torch_version"]
    assert len(rows) == 30  # nights -29 .. -1 and tonight
    assert rows == sorted(rows, key=lambda r: r["started_at"])


def test_regressions_of_the_last_week(history):
    columns, rows = _query(history, COOKBOOK[2])
    assert columns == ["started_at", "case_key", "metric", "baseline", "tonight",
                       "relative_change", "detail"]
    assert [(r["case_key"], round(r["relative_change"], 3)) for r in rows] == [
        ("cpu-bs4-fp32", -0.2)]


def test_cpu_versus_gpu_per_batch_size(history):
    columns, rows = _query(history, COOKBOOK[3])
    assert columns == ["batch_size", "precision", "cpu_images_per_s", "gpu_images_per_s",
                       "gpu_speedup"]
    # no GPU here: the CUDA cases are skipped, so the speed-up is unknown, not invented
    assert [(r["batch_size"], r["gpu_speedup"]) for r in rows] == [(1, None), (4, None)]
    assert all(r["cpu_images_per_s"] > 0 for r in rows)


def test_memory_versus_batch_size(history):
    columns, rows = _query(history, COOKBOOK[4])
    assert columns == ["device", "precision", "batch_size", "cuda_allocated_mib",
                       "cuda_reserved_mib", "gpu_process_mib", "host_rss_mib"]
    assert [(r["device"], r["batch_size"]) for r in rows] == [("cpu", 1), ("cpu", 4)]
    assert all(r["host_rss_mib"] > 100 and r["cuda_reserved_mib"] is None for r in rows)


def test_software_change_that_coincided_with_a_step(history):
    columns, rows = _query(history, COOKBOOK[5])
    assert columns[:5] == ["started_at", "case_key", "prev_images_per_s", "images_per_s",
                           "change"]
    assert [(r["case_key"], r["prev_torch_version"], round(r["change"], 3)) for r in rows] == [
        ("cpu-bs4-fp32", "2.14.0", round(1 / 0.85 - 1, 3))]
    assert rows[0]["torch_version"] != "2.14.0"


def test_disturbed_cases_of_the_last_week(history):
    columns, rows = _query(history, COOKBOOK[6])
    assert columns == ["started_at", "case_key", "attempts", "interference", "steal",
                       "validity_reason"]
    assert [(r["case_key"], r["attempts"], r["interference"], r["validity_reason"])
            for r in rows] == [("cpu-bs2-fp32", 2, 0.48, DISTURBED)]


def test_the_configurations_worth_shipping(history):
    columns, rows = _query(history, COOKBOOK[7])
    assert columns == ["device", "hardware_name", "runtime", "precision", "channels_last",
                       "compile", "batch_size", "images_per_s", "speedup_vs_fp32_eager",
                       "latency_p90_ms", "memory_gib", "energy_j_per_image", "masks_identical"]
    # tonight's CPU cases are all fp32 eager (the CUDA ones were skipped): the front is one
    # or both batch sizes, each its own reference
    assert rows and {(r["device"], r["runtime"], r["precision"], r["compile"])
                     for r in rows} == {("cpu", "torch", "fp32", "none")}
    assert {r["batch_size"] for r in rows} <= {1, 4}
    assert all(r["speedup_vs_fp32_eager"] == pytest.approx(1) for r in rows)
    assert [r["images_per_s"] for r in rows] == sorted((r["images_per_s"] for r in rows),
                                                       reverse=True)
    assert all(r["memory_gib"] > 0.1 and r["hardware_name"] for r in rows)
