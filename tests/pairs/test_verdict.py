"""The verdicts of a paired case: on software from the paired interval, on the machine
from the control's series (the series judge's own rule), and the night's sentence."""

from __future__ import annotations

from dataclasses import replace

import pytest

from segtasks.domain.paired import PairedVerdict, PairMode
from segtasks.domain.verdicts import VerdictKind
from segtasks.judge.series import NightValue
from segtasks.judge.thresholds import Threshold
from segtasks.pairs.stats import PairedSummary, paired_summary
from segtasks.pairs.verdict import judge_machine, judge_software, night_line
from segtasks.plan.params import JudgeSettings


def summary(ratio, low, high, n=5, higher_is_better=True):
    return PairedSummary(n, ratio, low, high, 0.01, 0.01, 0.02, 0.95, 0.9, higher_is_better)


def software(s, min_effect=0.05, metric="images_per_s", higher_is_better=True):
    return judge_software(s, min_effect=min_effect, metric=metric,
                          higher_is_better=higher_is_better)


def test_a_change_that_counts_with_its_whole_interval_on_one_side_is_a_change():
    verdict, detail = software(summary(0.92, 0.90, 0.94))
    assert verdict == VerdictKind.REGRESSION and detail.startswith("images_per_s 8.0% slower")
    assert software(summary(1.09, 1.07, 1.11))[0] == VerdictKind.IMPROVEMENT
    # a latency going up is the regression
    assert software(summary(1.09, 1.07, 1.11), metric="latency_p50_ms",
                    higher_is_better=False)[0] == VerdictKind.REGRESSION


def test_a_significant_change_smaller_than_the_minimum_effect_is_unchanged():
    verdict, detail = software(summary(0.98, 0.97, 0.99))
    assert verdict == VerdictKind.UNCHANGED and "within +-5.0%" in detail


def test_an_interval_too_wide_to_tell_is_inconclusive_not_unchanged():
    # excludes 1 but the point change is under the minimum effect, and it reaches past it
    assert software(summary(0.96, 0.93, 0.99))[0] == VerdictKind.INCONCLUSIVE
    # a large point change whose interval still holds 1
    verdict, detail = software(summary(0.92, 0.80, 1.05))
    assert verdict == VerdictKind.INCONCLUSIVE and "more pairs would tell" in detail
    assert verdict == "inconclusive"  # as stored


def test_fewer_than_two_complete_pairs_fail_with_the_reason():
    verdict, detail = software(paired_summary([100.0], [90.0]))
    assert verdict == VerdictKind.FAILED and detail.startswith("1 complete pair:")


def test_the_software_verdict_from_real_pair_values():
    control = [100.0, 101.0, 99.0, 100.5, 100.2]
    slower = [c * f for c, f in zip(control, (0.93, 0.94, 0.935, 0.94, 0.93), strict=True)]
    assert software(paired_summary(control, slower))[0] == VerdictKind.REGRESSION
    same = [c * f for c, f in zip(control, (0.999, 1.002, 1.0, 0.998, 1.001), strict=True)]
    assert software(paired_summary(control, same))[0] == VerdictKind.UNCHANGED


THRESHOLD = Threshold(min_effect=0.05, z_threshold=3.0)
STEADY = [NightValue(run_pk, 100.0 + (run_pk % 3 - 1) * 0.5) for run_pk in range(20, 10, -1)]


def test_the_machine_verdict_is_the_series_judges_on_the_controls_nights():
    verdict, change, detail = judge_machine([100.2, 99.8, 100.1], STEADY, THRESHOLD,
                                            JudgeSettings())
    assert verdict == VerdictKind.UNCHANGED and abs(change) < 0.01
    assert detail.startswith("3 control processes tonight against 7 earlier nights")
    verdict, change, _ = judge_machine([80.0, 81.0, 80.5], STEADY, THRESHOLD, JudgeSettings())
    assert verdict == VerdictKind.REGRESSION and change == pytest.approx(80.5 / 100 - 1)
    # (run_pk, value) pairs, as the store's control_series gives them, read the same
    as_tuples = [(n.run_pk, n.value) for n in STEADY]
    assert judge_machine([80.0, 81.0, 80.5], as_tuples, THRESHOLD,
                         JudgeSettings())[0] == VerdictKind.REGRESSION


def test_a_control_series_too_noisy_to_see_the_minimum_effect_is_inconclusive_not_unchanged():
    noisy = [NightValue(run_pk, 100.0 * (1.25 if run_pk % 2 else 0.8))
             for run_pk in range(20, 10, -1)]
    verdict, _, detail = judge_machine([101.0, 99.0, 100.0], noisy, THRESHOLD,
                                       JudgeSettings())
    assert verdict == VerdictKind.INCONCLUSIVE, detail
    assert "this series sees changes of" in detail


def test_the_machine_is_not_judged_without_history_or_a_control_value():
    assert judge_machine([100.0], STEADY[:1], THRESHOLD,
                         JudgeSettings())[0] == VerdictKind.INSUFFICIENT_HISTORY
    assert judge_machine([100.0], [], THRESHOLD, JudgeSettings())[0] == VerdictKind.NEW
    assert judge_machine([], STEADY, THRESHOLD, JudgeSettings())[0] == VerdictKind.FAILED


VERDICT = PairedVerdict(
    case_key="cpu-bs1-fp32", hardware_key="hw", metric="images_per_s",
    control_lock="c" * 64, treatment_lock="t" * 64, mode=PairMode.INTERLEAVED, pairs=5,
    verdict="regression", ratio=0.939, ci_low=0.928, ci_high=0.950, p_value=0.001,
    mde=0.018, min_effect=0.05, machine_verdict="unchanged", machine_change=0.002,
    packages_changed=("torch 2.14.0 -> 2.14.1",))


def test_the_nights_sentence_on_a_regression_reads_as_the_issue_asks():
    # "the control's": by default the baseline night's lock, or the lock `control` names
    assert night_line(VERDICT) == (
        "software: 6.1% slower than the control's on this machine tonight (5 pairs, "
        "+-1.1%); machine: unchanged; packages changed: torch 2.14.0 -> 2.14.1")


def test_the_nights_sentence_on_the_other_verdicts():
    unchanged = replace(VERDICT, verdict="unchanged", ratio=0.995, ci_low=0.98, ci_high=1.01)
    assert night_line(unchanged).startswith(
        "software: within +-2.0% of the control (5 pairs, MDE 1.8%); machine: unchanged")
    wide = replace(VERDICT, verdict=VerdictKind.INCONCLUSIVE.value, ratio=0.97, ci_low=0.92,
                   ci_high=1.02,
                   machine_verdict="regression", machine_change=-0.04, packages_changed=())
    assert night_line(wide) == (
        "software: inconclusive, between 8.0% slower and 2.0% faster than the control "
        "(5 pairs, MDE 1.8%); machine: 4.0% slower than its earlier nights; "
        "packages changed: none")
    failed = replace(VERDICT, verdict="failed", ratio=None, ci_low=None, ci_high=None,
                     machine_verdict=None, detail="1 complete pair: at least 2 are needed")
    assert night_line(failed).startswith(
        "software: failed: 1 complete pair: at least 2 are needed; machine: no earlier nights")
    faster = replace(VERDICT, verdict="improvement", ratio=1.05, ci_low=1.04, ci_high=1.06,
                     machine_verdict="insufficient_history")
    assert night_line(faster).startswith("software: 5.0% faster than the control's")
    assert "machine: too few earlier nights" in night_line(faster)
    assert VERDICT.change == pytest.approx(-0.061)
