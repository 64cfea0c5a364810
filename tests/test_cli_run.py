"""`segbench run`: a line per case as it finishes, the grid finished when a store fails,
the run always closed, and an exit code that says whether the night is clean."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from factories import result
from sqlalchemy.exc import DBAPIError

from segtasks import launch, store
from segtasks.cli import main
from segtasks.store import repository, spool

GRID = ["--devices", "cpu", "--batch-sizes", "1,2", "--min-history", "1", "--baseline-runs",
        "1"]


@pytest.fixture
def measured(monkeypatch, tmp_path):
    """Cases 'measured' in no time: results by batch size, or an error."""
    monkeypatch.setenv("SEGBENCH_LOCK_DIR", str(tmp_path / "locks"))
    outcomes: dict = {"headline_only": []}

    def fake(case, _inputs, _weights, timeout_s=None, headline_only=False):
        outcomes["headline_only"].append((case.key, headline_only))
        wanted = outcomes.get(case.batch_size, {})
        made = result(batch_size=case.batch_size, **wanted)
        return replace(made, case=case)

    monkeypatch.setattr(launch, "run_case_isolated", fake)
    return outcomes


def _runs(url):
    from sqlalchemy import text

    with store.connect(url).connect() as conn:
        return conn.execute(text("SELECT id, state FROM runs ORDER BY id")).all()


def test_a_clean_night_prints_a_line_per_case_and_exits_0(capsys, sqlite_url, measured):
    store.upgrade(sqlite_url)
    assert main(["run", "--url", sqlite_url, *GRID]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert len(lines) == 2
    assert re.fullmatch(r"\[1/2\] cpu-bs1-fp32: ok, 10\.00 images/s, stable, \d+ s elapsed, "
                        r"about \d+ s left", lines[0]), lines[0]
    assert lines[1].startswith("[2/2] cpu-bs2-fp32: ok, 10.00 images/s, stable, ")
    assert lines[1].endswith("about 0 s left")


def test_errored_cases_make_exit_code_1_and_are_named_with_their_reason(capsys, sqlite_url,
                                                                       measured):
    store.upgrade(sqlite_url)
    measured[2] = {"status": "error", "reason": "input folder /nowhere does not exist"}
    assert main(["run", "--url", sqlite_url, *GRID]) == 1
    captured = capsys.readouterr()
    assert "[2/2] cpu-bs2-fp32: error, input folder /nowhere does not exist" in captured.out
    assert captured.err.strip() == (
        "segbench: run 1 has 1 problem: cpu-bs2-fp32 errored: input folder /nowhere does not "
        "exist")
    assert [tuple(r) for r in _runs(sqlite_url)] == [(1, "failed")]


def test_a_regression_exits_1_only_with_fail_on_regression(capsys, sqlite_url, measured):
    store.upgrade(sqlite_url)
    assert main(["run", "--url", sqlite_url, *GRID]) == 0
    measured[1] = {"images_per_s": 5.0, "samples": (200.0, 204.0, 196.0)}
    assert main(["run", "--url", sqlite_url, *GRID, "--z-threshold", "1"]) == 1
    assert "cpu-bs1-fp32 regressed: images_per_s -50.0%" in capsys.readouterr().err
    assert main(["run", "--url", sqlite_url, *GRID, "--z-threshold", "1",
                 "--no-fail-on-regression"]) == 0


def test_only_a_cases_first_process_counts_flops_and_checks_outputs(sqlite_url, measured):
    """A further process and a confirming one are stored as their images/s and latency
    only (repository.save_process): they measure the timed loop alone."""
    store.upgrade(sqlite_url)
    assert main(["run", "--url", sqlite_url, *GRID, "--repeats", "2"]) == 0
    assert measured["headline_only"] == [("cpu-bs1-fp32", False), ("cpu-bs1-fp32", True),
                                         ("cpu-bs2-fp32", False), ("cpu-bs2-fp32", True)]
    measured["headline_only"].clear()
    measured[1] = {"images_per_s": 5.0, "samples": (200.0, 204.0, 196.0)}
    main(["run", "--url", sqlite_url, *GRID, "--z-threshold", "1", "--confirm-repeats", "2"])
    confirming = measured["headline_only"][2:]  # after the grid's two first processes
    assert confirming == [("cpu-bs1-fp32", True)] * 2, measured["headline_only"]


def test_a_failed_store_is_spooled_the_grid_goes_on_and_the_result_is_stored_once(
    capsys, sqlite_url, measured, monkeypatch
):
    store.upgrade(sqlite_url)
    real_save = repository.save_result
    calls = []

    def save_failing_once(engine, run_pk, case_result):
        calls.append(case_result.case.key)
        if len(calls) == 1:
            raise DBAPIError("INSERT ...", {}, Exception("server closed the connection"))
        return real_save(engine, run_pk, case_result)

    monkeypatch.setattr(repository, "save_result", save_failing_once)
    assert main(["run", "--url", sqlite_url, *GRID]) == 0
    out = capsys.readouterr().out
    assert "segbench: warning: the results database at" in out
    assert "[1/2] cpu-bs1-fp32: not stored" in out and "[2/2] cpu-bs2-fp32: ok" in out
    # not measured again: stored from the spool as soon as the database answered (before the
    # next case)
    assert calls == ["cpu-bs1-fp32", "cpu-bs1-fp32", "cpu-bs2-fp32"]
    rows = repository.run_results(store.connect(sqlite_url), 1)
    assert [r.case_key for r in rows] == ["cpu-bs1-fp32", "cpu-bs2-fp32"]
    assert list(spool.spool_dir().rglob("*.json")) == []
    assert [tuple(r) for r in _runs(sqlite_url)] == [(1, "success")]


def test_a_programming_error_closes_the_run_as_failed_and_keeps_its_traceback(
    sqlite_url, measured, monkeypatch
):
    store.upgrade(sqlite_url)

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(launch, "run_case_isolated", broken)
    with pytest.raises(ZeroDivisionError):
        main(["run", "--url", sqlite_url, *GRID])
    assert [tuple(r) for r in _runs(sqlite_url)] == [(1, "failed")]
