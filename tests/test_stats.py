"""Statistics and the stopping rule, on synthetic latency streams with known answers."""

import numpy as np
import pytest

from segtasks.measure.stats import LatencyStats, median_ci
from segtasks.measure.stopping import StoppingRule


@pytest.mark.parametrize(
    ("n", "ranks"),
    # 0-based order statistics of the distribution-free 95% interval of the median
    [(5, None), (6, (0, 5)), (10, (1, 8)), (20, (5, 14)), (100, (39, 60))],
)
def test_median_interval_uses_the_binomial_order_statistics(n, ranks):
    samples = np.arange(n, dtype=float)[::-1]  # order of arrival must not matter
    low, high = median_ci(samples)
    if ranks is None:
        assert (low, high) == (float("-inf"), float("inf"))
    else:
        assert (low, high) == ranks


def test_median_interval_covers_the_true_median_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    true_median = np.exp(0.0)  # lognormal(0, 0.3): a long right tail, like latencies
    trials = 2000
    hits = sum(
        low <= true_median <= high
        for low, high in (median_ci(rng.lognormal(0, 0.3, 30)) for _ in range(trials))
    )
    assert 0.94 <= hits / trials <= 0.99  # conservative by construction, never below 95%


def test_statistics_of_a_known_stream():
    stats = LatencyStats.from_samples([10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0,
                                       19.0, 100.0])
    assert stats.n == 11 and stats.p50_ms == 15.0 and stats.mean_ms == pytest.approx(245 / 11)
    assert stats.iqr_ms == pytest.approx(5.0)  # the outlier moves the mean, not the quartiles
    assert stats.p90_ms == pytest.approx(19.0) and stats.p99_ms == pytest.approx(91.9)
    assert stats.cv == pytest.approx(stats.std_ms / stats.mean_ms)
    assert (stats.ci_low_ms, stats.ci_high_ms) == (11.0, 19.0)
    assert stats.ci_rel == pytest.approx(4 / 15)


def _run(rule, stream, batch_s):
    """Feed latencies one by one with a simulated clock; the samples and why it stopped."""
    samples = []
    for i, latency in enumerate(stream, start=1):
        samples.append(latency)
        stop = rule.stop_reason(samples, elapsed_s=i * batch_s)
        if stop:
            return samples, stop
    raise AssertionError("the stream ran out before the rule stopped")


def test_a_quiet_stream_stops_early_as_soon_as_minimums_are_met():
    rule = StoppingRule(min_batches=10, min_seconds=2.0, max_seconds=30.0, ci_target=0.02)
    quiet = 100 + np.random.default_rng(1).normal(0, 0.5, 1000)  # CV 0.5%
    samples, stop = _run(rule, quiet, batch_s=0.1)
    assert stop == "stable" and len(samples) == 20  # 2 s of 0.1 s batches, not 10 batches


def test_a_noisy_stream_runs_until_its_interval_is_tight_enough():
    rule = StoppingRule(min_batches=6, min_seconds=0.1, max_seconds=1000.0, ci_target=0.02)
    noisy = 100 * np.random.default_rng(2).lognormal(0, 0.10, 5000)  # CV ~10%
    samples, stop = _run(rule, noisy, batch_s=0.01)
    assert stop == "stable"
    assert 60 < len(samples) < 1000  # roughly (1.25 * 1.96 * 0.10 / 0.02)^2 ~ 150
    assert LatencyStats.from_samples(samples).ci_rel <= 0.02


def test_a_stream_that_never_settles_stops_at_the_time_cap_unstable():
    rule = StoppingRule(min_batches=6, min_seconds=1.0, max_seconds=5.0, ci_target=0.02)
    wild = 100 * np.random.default_rng(3).lognormal(0, 0.8, 5000)
    samples, stop = _run(rule, wild, batch_s=0.5)
    assert stop == "time_cap" and len(samples) == 10


def test_the_cap_never_cuts_below_the_minimum_batches():
    rule = StoppingRule(min_batches=6, min_seconds=1.0, max_seconds=5.0, ci_target=0.02)
    assert rule.stop_reason([9000.0] * 5, elapsed_s=45.0) is None
    assert rule.stop_reason([9000.0, 9100.0, 8000.0, 9900.0, 9500.0, 8800.0],
                        elapsed_s=54.0) == "time_cap"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_batches": 5}, "min_batches must be >= 6"),
        ({"min_seconds": 10, "max_seconds": 5}, "need 0 < min_seconds <= max_seconds"),
        ({"ci_target": 0}, "ci_target must be in (0, 1)"),
    ],
)
def test_impossible_rules_are_refused(kwargs, message):
    usual = {"min_batches": 6, "min_seconds": 1.0, "max_seconds": 30.0, "ci_target": 0.02}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        StoppingRule(**{**usual, **kwargs})
