"""What makes a night fail, one line each (segtasks.nightly.night_problems)."""

from types import SimpleNamespace

from segtasks.judge.verdict import Verdict
from segtasks.nightly import NightOutcome, night_problems


def _row(key, status, reason=None):
    return SimpleNamespace(case_key=key, status=status, reason=reason)


def _problems(results, verdicts=(), planned=None, fail_on_regression=True):
    planned = [r.case_key for r in results] if planned is None else planned
    return night_problems(planned=planned, results=results, verdicts=list(verdicts),
                          fail_on_regression=fail_on_regression)


def test_a_night_of_ok_oom_and_skipped_cases_is_clean():
    assert _problems([_row("cpu-bs1-fp32", "ok"), _row("cpu-bs64-fp32", "oom", "out of memory"),
                      _row("cuda-bs1-fp32", "skipped", "no CUDA device")]) == []


def test_every_errored_case_is_named_with_the_first_line_of_its_reason():
    problems = _problems([
        _row("cpu-bs1-fp32", "error", "input folder /x does not exist\nTraceback ..."),
        _row("cpu-bs2-fp32", "error", "input folder /x does not exist"),
    ])
    assert problems == ["cpu-bs1-fp32 errored: input folder /x does not exist",
                        "cpu-bs2-fp32 errored: input folder /x does not exist",
                        "nothing was measured (2 error)"]


def test_a_planned_case_without_a_stored_result_is_a_problem():
    problems = _problems([_row("cpu-bs1-fp32", "ok")], planned=["cpu-bs1-fp32", "cpu-bs2-fp32"])
    assert problems == ["cpu-bs2-fp32: no result stored (its task failed before storing one)"]


def test_nothing_measured_fails_even_when_every_case_was_only_skipped():
    assert _problems([_row("cuda-bs1-fp32", "skipped", "no CUDA device")]) == [
        "nothing was measured (1 skipped)"]


def test_regressions_fail_the_night_only_with_fail_on_regression():
    results = [_row("cpu-bs1-fp32", "ok"), _row("cpu-bs2-fp32", "oom", "CUDA out of memory")]
    verdicts = [
        Verdict("cpu-bs1-fp32", "hw", "images_per_s", "regression", relative_change=-0.234),
        # an oom of a case that used to fit: a status regression, without a change figure
        Verdict("cpu-bs2-fp32", "hw", "status", "regression",
                detail="status oom: CUDA out of memory"),
    ]
    assert _problems(results, verdicts) == [
        "cpu-bs1-fp32 regressed: images_per_s -23.4%",
        "cpu-bs2-fp32 regressed: status oom: CUDA out of memory"]
    assert _problems(results, verdicts, fail_on_regression=False) == []


def test_an_errored_case_with_history_is_named_once_as_an_error():
    verdicts = [Verdict("cpu-bs1-fp32", "hw", "status", "regression", detail="status error: x")]
    problems = _problems([_row("cpu-bs1-fp32", "error", "x"), _row("cpu-bs2-fp32", "ok")],
                         verdicts)
    assert problems == ["cpu-bs1-fp32 errored: x"]


def test_the_failure_message_counts_and_lists_the_problems():
    outcome = NightOutcome(7, [], "", None, ["a errored: x", "b errored: y"])
    assert not outcome.clean
    assert outcome.failure_message == "run 7 has 2 problems: a errored: x; b errored: y"
    assert NightOutcome(7, [], "", None).clean


def test_outputs_that_left_the_golden_ones_fail_the_night_like_a_regression():
    results = [_row("cpu-bs1-fp32", "ok"), _row("cpu-bs1-bf16", "ok")]
    verdicts = [
        Verdict("cpu-bs1-fp32", "hw", "golden", "outputs_changed",
                detail="max abs dp 0.3, masks differing 1.2%"),
        # a precision outside its own tolerance is shown, not a failure of the night
        Verdict("cpu-bs1-bf16", "hw", "outputs", "outputs_differ"),
    ]
    assert _problems(results, verdicts) == [
        "cpu-bs1-fp32 outputs changed: max abs dp 0.3, masks differing 1.2%"]
    assert _problems(results, verdicts, fail_on_regression=False) == []
