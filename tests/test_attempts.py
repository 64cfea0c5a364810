"""A disturbed case is measured once more in a fresh process; what is stored keeps both
attempts' evidence, and a case disturbed twice is stored as not valid."""

from factories import judge, result
from sqlalchemy import text

from segtasks import launch, nightly, store
from segtasks.launch.attempts import run_case_checked
from segtasks.store import repository

BUSY = "other processes used 48% of the cores in use (at most 10% allowed)"
BUSIER = "other processes used 61% of the cores in use (at most 10% allowed)"


def _launcher(monkeypatch, *attempts):
    """Stand in for the case process: each call returns the next attempt's result."""
    calls = []
    queue = list(attempts)

    def run_case_isolated(case, inputs, weights, timeout_s=None):
        calls.append(case.key)
        made = queue.pop(0)
        made.case = case
        return made

    monkeypatch.setattr(launch, "run_case_isolated", run_case_isolated)
    return calls


def test_an_undisturbed_case_is_measured_once(monkeypatch, tmp_path):
    calls = _launcher(monkeypatch, result())
    stored = run_case_checked(result().case, tmp_path, tmp_path)
    assert calls == ["cpu-bs1-fp32"] and stored.validity.valid and stored.validity.attempts == 1


def test_a_disturbance_that_passed_leaves_a_valid_second_attempt_with_the_first_evidence(
        monkeypatch, tmp_path):
    calls = _launcher(monkeypatch, result(images_per_s=5.0, disturbed=BUSY),
                      result(images_per_s=10.0))
    stored = run_case_checked(result().case, tmp_path, tmp_path)
    assert len(calls) == 2
    assert stored.validity.valid and stored.throughput.images_per_s == 10.0
    assert (stored.validity.attempts, stored.validity.first_attempt_reason,
            stored.validity.first_attempt_interference) == (2, BUSY, 0.48)
    assert stored.warnings[-1] == (f"attempt 1 was disturbed ({BUSY}); measured again: "
                                   "attempt 2 undisturbed")


def test_a_case_disturbed_twice_is_stored_not_valid_with_the_cause(monkeypatch, tmp_path):
    _launcher(monkeypatch, result(disturbed=BUSY), result(disturbed=BUSIER))
    stored = run_case_checked(result().case, tmp_path, tmp_path)
    assert stored.disturbed and stored.validity.validity_reason == BUSIER
    assert (stored.validity.attempts, stored.validity.first_attempt_reason) == (2, BUSY)


def test_a_retry_that_fails_keeps_the_measured_first_attempt_marked(monkeypatch, tmp_path):
    _launcher(monkeypatch, result(images_per_s=5.0, disturbed=BUSY),
              result(status="error", reason="case process killed by SIGKILL"))
    stored = run_case_checked(result().case, tmp_path, tmp_path)
    assert stored.status == "ok" and stored.disturbed and stored.validity.attempts == 2
    assert stored.warnings[-1].endswith("attempt 2 ended error: case process killed by SIGKILL")


def test_the_night_stores_both_attempts_evidence_and_the_judge_calls_it_disturbed(
        monkeypatch, db_url, tmp_path):
    _launcher(monkeypatch, result(disturbed=BUSY), result(disturbed=BUSIER))
    engine = store.connect(db_url)
    night = nightly.plan({"devices": ["cpu"], "batch_sizes": [1]})
    run_pk = nightly.open_run(db_url=db_url, dag_id="d", run_id="busy", trigger="cli",
                              params=night).pk
    summary = nightly.bench(night.cases[0].to_dict(), run_pk, db_url=db_url, inputs=tmp_path,
                            weights=tmp_path)
    assert summary["status"] == "ok"
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT valid, validity_reason, interference, steal, attempts, "
            "first_attempt_reason FROM v_results WHERE run_pk = :r"), {"r": run_pk}).one()
        first = conn.execute(text("SELECT first_attempt_interference FROM results")).scalar()
        series = conn.execute(text("SELECT count(*) FROM v_series")).scalar()
    assert (bool(row.valid), row.validity_reason, row.attempts, row.first_attempt_reason) == (
        False, BUSIER, 2, BUSY)
    assert row.interference == 0.48 and first == 0.48
    assert series == 0  # v_series holds the good nights only, as the judge sees them
    verdicts = judge(engine, run_pk)
    assert [(v.case_key, v.verdict) for v in verdicts] == [("cpu-bs1-fp32", "disturbed")]
    assert repository.run_result(engine, run_pk, "cpu-bs1-fp32").valid is False
