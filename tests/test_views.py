"""The views answer in both dialects: PostgreSQL, and SQLite as the embedded default."""

from factories import result
from sqlalchemy import text

from segtasks import store
from segtasks.store import repository


def test_views_in_both_dialects(db_url):
    engine = store.connect(db_url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="abc")
    for bs, fps in [(1, 10.0), (2, 15.0), (4, 16.5)]:
        repository.save_result(engine, run_pk, result(batch_size=bs, images_per_s=fps))
    repository.save_result(engine, run_pk, result(device="cuda", status="skipped"))
    with engine.connect() as conn:
        speedup = conn.execute(text(
            "SELECT batch_size, improvement_over_bs1, improvement_over_previous_row "
            "FROM v_speedup ORDER BY batch_size")).all()
        latest = conn.execute(text(
            "SELECT device, batch_size, status, torch_version FROM v_latest "
            "ORDER BY device, batch_size")).all()
        series = conn.execute(text(
            "SELECT case_key, images_per_s, prev_images_per_s FROM v_series")).all()
        flat = conn.execute(text("SELECT count(*), count(DISTINCT environment_id) "
                                 "FROM v_results")).one()
    assert [(b, round(a, 4), p and round(p, 4)) for b, a, p in speedup] == [
        (1, 1.0, None), (2, 1.5, 1.5), (4, 1.65, 1.1)]
    assert [tuple(r) for r in latest] == [("cpu", 1, "ok", "2.15.0"), ("cpu", 2, "ok", "2.15.0"),
                                          ("cpu", 4, "ok", "2.15.0"), ("cuda", 1, "skipped", None)]
    assert len(series) == 3 and all(r.prev_images_per_s is None for r in series)
    # the three ok results share one fingerprint: one environment row, not three
    assert tuple(flat) == (4, 2)
