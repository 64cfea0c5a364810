"""Stored rows survive every migration: a database filled at the first revision, upgraded."""

from sqlalchemy import text

from segtasks import store
from segtasks.store import database


def test_upgrading_a_first_revision_database_keeps_its_rows(request):
    for url in (request.getfixturevalue("sqlite_url"), request.getfixturevalue("pg_url")):
        store.upgrade(url, "0001")
        with database.engine(url).begin() as conn:
            conn.execute(text(
                "INSERT INTO runs (id, dag_id, run_id, trigger, params, started_at, state) "
                "VALUES (1, 'segbench_nightly', 'n1', 'scheduled', '{}', '2026-11-01', 'success')"))
            conn.execute(text(
                "INSERT INTO results (id, run_pk, case_key, device, batch_size, status, "
                "environment, warmup_batches, n_batches, preprocess_s, images_per_s, updated_at) "
                "VALUES (1, 1, 'cpu-bs4', 'cpu', 4, 'ok', '{}', 3, 8, 0.4, 5.5, '2026-11-01')"))
            conn.execute(text("INSERT INTO samples VALUES (1, 0, 700.0), (1, 1, 710.0)"))
            conn.execute(text(
                "INSERT INTO comparisons (run_pk, case_key, metric, verdict, threshold, "
                "baseline_run_pks, method, created_at) VALUES (1, 'cpu-bs4', 'images_per_s', "
                "'new', 0.1, '[]', 'median-ratio-v1', '2026-11-01')"))

        store.upgrade(url)

        with database.engine(url).connect() as conn:
            row = conn.execute(text(
                "SELECT case_key, precision, channels_last, threads, images_per_s, "
                "preprocess_ms FROM results")).one()
            samples = conn.execute(text(
                "SELECT idx, latency_ms FROM samples ORDER BY idx")).all()
            verdict = conn.execute(text("SELECT case_key FROM comparisons")).scalar_one()
            environment = conn.execute(text(
                "SELECT e.hardware_key FROM results x "
                "JOIN environments e ON e.id = x.environment_id")).scalar_one()
        assert tuple(row) == ("cpu-bs4-fp32", "fp32", False, None, 5.5, 50.0)
        assert environment == "unknown"  # its fingerprint was empty, and it is kept as such
        assert [tuple(s) for s in samples] == [(0, 700.0), (1, 710.0)]
        assert verdict == "cpu-bs4-fp32"  # history stays joinable under the new key
        assert store.connect(url) is not None  # at head: no upgrade asked for
