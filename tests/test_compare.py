"""Known answers for the regression detector."""

import copy
import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from factories import HARDWARE, judge, result

from segtasks import store
from segtasks.errors import Refused
from segtasks.judge.decide import decide
from segtasks.judge.metrics import BY_NAME
from segtasks.judge.thresholds import night_thresholds
from segtasks.plan import ParamError, validate
from segtasks.store import repository
from segtasks.store.schema import Run

SPEED = BY_NAME["images_per_s"]
MEMORY = BY_NAME["cuda_peak_reserved_bytes"]
# the thresholds a night with default parameters judges with
DEFAULT = night_thresholds(validate({}).judging).of("cpu-bs1-fp32", "images_per_s")
FINGERPRINT = {"hardware_key": HARDWARE, "hardware": {"cpu_model": "Test CPU"},
               "software": {"torch": "2.15.0", "nvidia_driver": "580.1"}}


def _nights(engine, throughputs, *, first=0, status=None, hardware=HARDWARE, reserved=None,
            environment=None, code="abc", case=None):
    """One run per night from night `first` on, oldest first; returns the run ids."""
    run_pks = []
    start = datetime(2026, 10, 1, 2, tzinfo=UTC)
    for i, ips in enumerate(throughputs, start=first):
        run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=f"n{i}",
                                     trigger="scheduled", params={}, code_version=code)
        with repository._session(engine) as session, session.begin():
            session.get_one(Run, run_pk).started_at = start + timedelta(days=i)
        last = i == first + len(throughputs) - 1
        made = result(images_per_s=ips, status=status if (status and last) else "ok",
                      hardware=hardware, reserved=reserved[i - first] if reserved else None,
                      environment=environment or FINGERPRINT, **(case or {}))
        repository.save_result(engine, run_pk, made)
        run_pks.append(run_pk)
    return run_pks


def _speed(verdicts):
    return next(v for v in verdicts if v.metric in ("images_per_s", "status"))


@pytest.mark.parametrize(
    ("tonight", "history", "expected"),
    [
        (10.0, [], "new"),
        (10.0, [10.0, 10.1], "insufficient_history"),
        (8.9, [10.0, 10.2, 9.9, 10.1], "regression"),
        (9.6, [10.0, 10.2, 9.9, 10.1], "unchanged"),  # 4%: below the minimum effect
        (11.5, [10.0, 10.2, 9.9, 10.1], "improvement"),
        (8.9, [10.0, 12.0, 8.0, 11.0, 9.0], "unchanged"),  # 11% down, but inside the noise
    ],
)
def test_decision_on_known_answers(tonight, history, expected):
    assert decide(SPEED, DEFAULT, tonight, history).verdict == expected


def test_tonights_own_uncertainty_widens_the_noise():
    history = [10.0, 10.05, 9.95, 10.0, 10.02]
    assert decide(SPEED, DEFAULT, 9.3, history, tonight_ci_rel=0.01).verdict == "regression"
    assert decide(SPEED, DEFAULT, 9.3, history, tonight_ci_rel=0.10).verdict == "unchanged"


def test_a_planted_10_percent_slowdown_is_flagged_with_its_inputs(db_url):
    engine = store.connect(db_url)
    usual = [10.0, 10.1, 9.9, 10.05, 9.95, 10.0, 10.1]
    runs = _nights(engine, [*usual, 9.0])
    verdict = _speed(judge(engine, runs[-1]))
    assert verdict.verdict == "regression"
    assert verdict.relative_change == pytest.approx(9.0 / 10.0 - 1)
    assert verdict.baseline_run_pks == list(reversed(runs[:-1]))[:7]
    assert sorted(verdict.baseline_values) == sorted(usual)
    assert verdict.z > 3 and verdict.noise > 0 and verdict.method == "robust-z-v3"
    stored = [c for c in repository.run_comparisons(engine, runs[-1])
              if c.metric == "images_per_s"]
    assert [(c.verdict, c.baseline, c.direction) for c in stored] == [
        ("regression", 10.0, "higher")]


def test_twenty_noisy_but_unchanged_nights_raise_no_flag(db_url):
    engine = store.connect(db_url)
    noisy = list(10.0 * (1 + np.random.default_rng(5).normal(0, 0.02, 27)))
    runs = _nights(engine, noisy)
    flagged = [v for run_pk in runs[7:] for v in judge(engine, run_pk)
               if v.verdict in ("regression", "improvement")]
    assert len(runs[7:]) == 20 and flagged == []


def test_three_percent_more_cuda_memory_is_flagged(db_url):
    engine = store.connect(db_url)
    gib = 2**30
    runs = _nights(engine, [10.0] * 6, reserved=[gib] * 5 + [int(gib * 1.03)])
    memory = next(v for v in judge(engine, runs[-1]) if v.metric == MEMORY.name)
    assert memory.verdict == "regression" and memory.direction == "lower"
    assert memory.relative_change == pytest.approx(0.03, abs=1e-6)


def test_a_case_that_worked_and_now_runs_out_of_memory_is_a_regression(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.0, 10.0, 10.0], status="oom")
    verdict = _speed(judge(engine, runs[-1]))
    assert (verdict.metric, verdict.verdict) == ("status", "regression")
    assert verdict.detail.startswith("status oom")


def test_too_little_history_is_insufficient_and_none_is_new(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.0, 5.0])
    assert _speed(judge(engine, runs[0])).verdict == "new"
    assert _speed(judge(engine, runs[-1])).verdict == "insufficient_history"


def test_an_excluded_run_is_left_out_of_the_baseline(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.0, 10.0, 5.0, 10.0])
    repository.set_excluded(engine, runs[3], True, "a backup ran that night")
    verdict = _speed(judge(engine, runs[-1]))
    assert runs[3] not in verdict.baseline_run_pks and verdict.verdict == "unchanged"
    assert repository.get_run(engine, runs[3]).excluded_reason == "a backup ran that night"


def test_another_hardware_starts_a_new_series_instead_of_flagging(db_url):
    engine = store.connect(db_url)
    _nights(engine, [10.0, 10.0, 10.0, 10.0])
    runs = _nights(engine, [3.0], hardware="cpu=Slower CPU (2 threads); gpu=none", first=4)
    assert _speed(judge(engine, runs[-1])).verdict == "new"


def test_software_changes_are_listed_next_to_the_verdict(db_url):
    engine = store.connect(db_url)
    upgraded = copy.deepcopy(FINGERPRINT)
    upgraded["software"].update(torch="2.16.0", nvidia_driver="590.2")
    _nights(engine, [10.0] * 4)
    runs = _nights(engine, [8.0], first=4, environment=upgraded, code="def")
    verdict = _speed(judge(engine, runs[-1]))
    assert verdict.verdict == "regression"
    assert verdict.software_changes == ["code abc -> def", "torch 2.15.0 -> 2.16.0",
                                        "driver 580.1 -> 590.2"]


def test_a_series_that_disappears_is_missing(db_url):
    engine = store.connect(db_url)
    _nights(engine, [10.0, 10.0], case={"batch_size": 2})
    runs = _nights(engine, [10.0], first=2)  # batch size 1 tonight; 2 is gone
    missing = [v for v in judge(engine, runs[-1]) if v.verdict == "missing"]
    assert [(v.case_key, v.metric) for v in missing] == [("cpu-bs2-fp32", "status")]


def test_thresholds_can_be_overridden_per_series(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.1, 9.9, 10.0, 9.0])
    relaxed = {"cpu-bs1-fp32": {"images_per_s": {"min_effect": 0.15}}}
    assert _speed(judge(engine, runs[-1], series_thresholds=relaxed)).verdict == "unchanged"
    assert _speed(judge(engine, runs[-1])).verdict == "regression"
    # an override wins over the run-level threshold, whichever is given first
    both = judge(engine, runs[-1], min_effect=0.02, series_thresholds=relaxed)
    assert (_speed(both).verdict, _speed(both).min_effect) == ("unchanged", 0.15)
    with pytest.raises(ParamError, match="series_thresholds.cpu-bs1-fp32"):
        judge(engine, runs[-1], series_thresholds={"cpu-bs1-fp32": {"fps": {}}})


def test_judging_twice_keeps_one_set_of_verdicts(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.0, 10.0, 10.0])
    first = judge(engine, runs[-1])
    judge(engine, runs[-1])
    assert len(repository.run_comparisons(engine, runs[-1])) == len(first)


def test_an_accepted_new_level_starts_the_baseline_afresh_and_can_be_undone(db_url):
    from sqlalchemy import text

    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.1, 9.9, 10.0, 8.0, 8.1, 7.9, 8.0])
    tonight = runs[-1]
    assert _speed(judge(engine, tonight)).verdict == "regression"  # against the old level
    level = repository.accept_level(
        engine, case_key="cpu-bs1-fp32", hardware_key=None,
        from_run=repository.get_run(engine, runs[4]), reason="new allocator, on purpose",
        by="ana")
    verdict = _speed(judge(engine, tonight))
    assert verdict.verdict == "unchanged" and verdict.baseline_run_pks == runs[4:7][::-1]
    with engine.connect() as conn:
        row = conn.execute(text("SELECT case_key, hardware_key, from_run_pk, reason, "
                                "accepted_by, active FROM v_baseline_levels")).one()
    assert tuple(row)[:5] == ("cpu-bs1-fp32", HARDWARE, runs[4], "new allocator, on purpose",
                              "ana") and row.active
    repository.undo_level(engine, level.id, by="bo")
    assert _speed(judge(engine, tonight)).verdict == "regression"
    (undone,) = repository.baseline_levels(engine, include_undone=True)
    assert (undone.undone_by, undone.accepted_by) == ("bo", "ana")
    assert repository.baseline_levels(engine) == []
    with pytest.raises(Refused, match="already undone by bo"):
        repository.undo_level(engine, level.id, by="bo")


def test_a_disturbed_night_is_disturbed_with_its_cause_never_compared(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [10.0, 10.1, 9.9, 10.0])
    cause = "other processes used 48% of the cores in use (at most 10% allowed)"
    tonight = repository.open_run(engine, dag_id="segbench_nightly", run_id="busy",
                                  trigger="scheduled", params={}, code_version="abc")
    repository.save_result(engine, tonight, result(images_per_s=5.2, disturbed=cause))
    verdicts = judge(engine, tonight)
    assert [(v.metric, v.verdict) for v in verdicts] == [("status", "disturbed")]
    assert verdicts[0].detail == (f"not compared: {cause} (measured twice, disturbed both "
                                  "times)")
    assert verdicts[0].baseline_run_pks == list(reversed(runs))
    assert "regression" not in {v.verdict for v in verdicts}


def test_disturbed_nights_are_in_no_baseline_and_no_noise_estimate(db_url):
    engine = store.connect(db_url)
    start = datetime(2026, 10, 1, 2, tzinfo=UTC)
    run_pks = []
    # ordinary nights, with two disturbed ones (half the speed) among them
    for i, (ips, disturbed) in enumerate([(10.0, None), (5.0, "busy"), (10.1, None),
                                          (9.9, None), (5.1, "busy"), (10.0, None),
                                          (9.0, None)]):
        run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=f"n{i}",
                                     trigger="scheduled", params={}, code_version="abc")
        with repository._session(engine) as session, session.begin():
            session.get_one(Run, run_pk).started_at = start + timedelta(days=i)
        repository.save_result(engine, run_pk, result(images_per_s=ips, disturbed=disturbed))
        run_pks.append(run_pk)
    verdict = _speed(judge(engine, run_pks[-1]))
    good = [run_pks[i] for i in (5, 3, 2, 0)]
    assert verdict.baseline_run_pks == good and sorted(verdict.baseline_values) == [
        9.9, 10.0, 10.0, 10.1]
    # with the disturbed nights left out the noise is small, so a 10% drop is seen
    assert verdict.verdict == "regression" and verdict.noise < 0.02


# The compare page's rule (two single nights) and the nightly's (a series' history) are
# two questions with one criterion: segtasks.judge.decide.flagged.

def _two_runs_and_one_night_history(change, ci):
    """Night a as the whole history, night b as tonight: the judge's decision, and the
    compare page's with night a's noise taken as nothing (one night has no spread)."""
    from segtasks.judge.two_runs import difference_beyond_noise

    threshold = dataclasses.replace(DEFAULT, z_threshold=3.0)
    judged = decide(SPEED, threshold, 10.0 * (1 + change), [10.0], tonight_ci_rel=ci,
                    min_history=1)
    compared = difference_beyond_noise(SPEED, threshold, 10.0, 10.0 * (1 + change),
                                       noise_a=0.0, ci_b=ci)
    return judged, compared, threshold


@pytest.mark.parametrize("change", [-0.2, -0.06, -0.045, -0.03, 0.0, 0.045, 0.2])
def test_with_a_one_night_history_the_two_rules_agree(change):
    judged, compared, _ = _two_runs_and_one_night_history(change, ci=0.0196)
    # the same noise: the night-to-night spread of one night is nothing, tonight's own
    # interval is the rest; night a contributes its floor on the compare page
    assert compared.beyond_noise == (judged.verdict != "unchanged")
    assert compared.worse == (change < 0)


def test_both_rules_lower_the_minimum_effect_by_1_2816_noise_units():
    from segtasks.judge.decide import POWER_Z, effect_gate

    # a 4.6% drop with 1% noise: below the 5% minimum effect, above its gate (3.7%)
    judged, compared, threshold = _two_runs_and_one_night_history(-0.046, ci=0.0196)
    assert effect_gate(judged.noise, threshold) == pytest.approx(
        threshold.min_effect - POWER_Z * judged.noise)
    assert judged.verdict == "regression"
    assert compared.beyond_noise and compared.word == "worse"
