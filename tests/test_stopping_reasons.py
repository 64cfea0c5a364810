"""A case stopped at the time cap says which rule of the stopping rule was not met: the
interval could not be told, it stayed too wide, or it was narrow enough only where nobody
looked (between two checks, or before the minimum time)."""

import numpy as np

from segtasks.measure.stats import LatencyStats
from segtasks.measure.stopping import StoppingRule


def _capped(rule, stream, batch_s):
    """Feed the stream with a simulated clock until the rule stops; it must be the cap."""
    samples = []
    for i, latency in enumerate(stream, start=1):
        samples.append(float(latency))
        stop = rule.stop_reason(samples, elapsed_s=i * batch_s)
        if stop:
            assert stop == "time_cap"
            return samples
    raise AssertionError("the stream ran out before the rule stopped")


def test_too_few_batches_for_the_correlation_corrected_interval():
    rule = StoppingRule(min_batches=6, min_seconds=1.0, max_seconds=4.0, ci_target=0.02)
    drifting = np.linspace(100, 140, 100)  # every batch slower than the last
    samples = _capped(rule, drifting, batch_s=0.5)
    assert len(samples) == 8 and LatencyStats.from_samples(samples).ci_rel == float("inf")
    assert rule.unstable_reason(samples) == (
        "too few batches for the median's interval once widened for their correlation: "
        "8 batches at the 4 s cap, lag-1 autocorrelation 0.62")


def test_an_interval_still_wider_than_the_target_at_the_cap():
    rule = StoppingRule(min_batches=6, min_seconds=1.0, max_seconds=4.0, ci_target=0.02)
    wild = 100 * np.random.default_rng(5).lognormal(0, 0.8, 100)
    samples = _capped(rule, wild, batch_s=0.1)
    reason = rule.unstable_reason(samples)
    ci = LatencyStats.from_samples(samples).ci_rel
    assert reason == (f"the median's 95% interval was +-{ci:.1%} after 40 batches at the 4 s "
                      "cap, wider than the target +-2.0%")


def test_an_interval_that_narrowed_only_after_the_last_check():
    stream = 100 + np.random.default_rng(0).normal(0, 1, 20)
    at_15 = LatencyStats.from_samples(stream[:15]).ci_rel
    at_20 = LatencyStats.from_samples(stream).ci_rel
    assert at_15 > 0.015 > at_20  # too wide at the check (15), narrow enough at the cap (20)
    rule = StoppingRule(min_batches=6, min_seconds=0.1, max_seconds=2.0, ci_target=0.015)
    samples = _capped(rule, stream, batch_s=0.1)
    assert rule.unstable_reason(samples) == (
        f"the median's 95% interval was +-{at_15:.1%} at the last check (15 batches), wider "
        f"than the target +-1.5%; it narrowed to +-{at_20:.1%} after 20 batches, but the "
        "2 s cap came before the next check (at 23 batches)")


def test_an_interval_within_the_target_before_the_minimum_time_had_passed():
    rule = StoppingRule(min_batches=6, min_seconds=2.9, max_seconds=3.0, ci_target=0.02)
    quiet = 100 + np.random.default_rng(5).normal(0, 0.1, 100)
    samples = _capped(rule, quiet, batch_s=0.15)  # checks at 10 and 15 come before 2.9 s
    at_15 = LatencyStats.from_samples(samples[:15]).ci_rel
    assert rule.unstable_reason(samples) == (
        f"at the last check (15 batches) the interval was +-{at_15:.1%}, within the target, "
        "but the minimum 2.9 s had not passed; the 3 s cap came after 20 batches, before the "
        "next check (at 23 batches)")


def test_the_cap_before_the_first_check_with_an_interval_already_narrow():
    rule = StoppingRule(min_batches=8, min_seconds=0.5, max_seconds=1.0, ci_target=0.05)
    quiet = 100 + np.random.default_rng(3).normal(0, 0.1, 9)
    ci = LatencyStats.from_samples(quiet).ci_rel
    assert ci <= 0.05  # 9 batches: finite here, as the first check is at 10
    assert rule.unstable_reason(list(quiet)) == (
        f"the 1 s cap came after 9 batches, before the first check of the interval (at 10 "
        f"batches); it was +-{ci:.1%} then, target +-5.0%")


def test_the_result_of_a_capped_case_warns_with_the_rule_not_met():
    from pathlib import Path

    from segtasks.measure.case_runner import Readings, assemble
    from segtasks.measure.data import ImageSet
    from segtasks.measure.protocol import Measurement
    from segtasks.plan.case import Case

    case = Case(device="cpu", min_seconds=2.9, max_seconds=3.0)
    latencies = list(100 + np.random.default_rng(5).normal(0, 0.1, 20))
    run = Measurement(latencies, [[1.0, 0.0, ms - 1.0, 1.0] for ms in latencies],
                      cold_start_ms=300.0, stop_reason="time_cap", end_to_end_s=0.6,
                      end_to_end_images=6)
    result = assemble(run, Readings(load_s=0.5, gflop_per_image=36.1, peak_tflops=None),
                      ImageSet(Path("."), [np.zeros((8, 8), np.uint8)], ["a.png"], "f"),
                      case=case, weights_sha256="w", hardware_key="h", environment={})
    expected = StoppingRule.for_case(case).unstable_reason(latencies)
    assert "the minimum 2.9 s had not passed" in expected
    assert f"not stable: {expected}" in result.warnings
    assert result.latency.stable is False and result.latency.stop_reason == "time_cap"
