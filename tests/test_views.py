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


def test_activation_memory_per_image_is_the_slope_over_batch_sizes(db_url):
    engine = store.connect(db_url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="abc")
    mib = 2**20
    # steady peaks of 1.5 GiB fixed + 100 MiB per image, and one case that ran out of memory
    for bs in (1, 2, 4, 8):
        made = result(device="cuda", batch_size=bs, reserved=4 * 2**30)
        made.memory.cuda_peak_allocated_bytes = 1536 * mib + bs * 100 * mib
        repository.save_result(engine, run_pk, made)
    repository.save_result(engine, run_pk, result(device="cuda", batch_size=16, status="oom"))
    repository.save_result(engine, run_pk, result(device="cpu", batch_size=1))  # no CUDA peak
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT device, precision, cases, min_batch_size, max_batch_size, "
            "activation_bytes_per_image, fixed_bytes FROM v_activation_memory")).all()
    ((device, precision, cases, low, high, slope, fixed),) = rows
    assert (device, precision, cases, low, high) == ("cuda", "fp32", 4, 1, 8)
    assert float(slope) == 100 * mib and float(fixed) == 1536 * mib


def test_results_views_say_whether_each_case_was_valid_and_why(db_url):
    engine = store.connect(db_url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="abc")
    repository.save_result(engine, run_pk, result(batch_size=1))
    repository.save_result(engine, run_pk, result(batch_size=2, disturbed="steal 9%"))
    with engine.connect() as conn:
        latest = conn.execute(text(
            "SELECT batch_size, valid, validity_reason, interference, steal, attempts "
            "FROM v_latest ORDER BY batch_size")).all()
        series = conn.execute(text("SELECT case_key, valid, interference FROM v_series")).all()
        speedup = conn.execute(text("SELECT batch_size, valid FROM v_speedup "
                                    "ORDER BY batch_size")).all()
    assert [(b, bool(v), why, i, a) for b, v, why, i, _s, a in latest] == [
        (1, True, None, 0.01, 1), (2, False, "steal 9%", 0.48, 2)]
    assert [(k, bool(v), i) for k, v, i in series] == [("cpu-bs1-fp32", True, 0.01)]
    assert [(b, bool(v)) for b, v in speedup] == [(1, True), (2, False)]
