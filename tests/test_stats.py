"""Statistics and the stopping rule, on synthetic latency streams with known answers."""

import numpy as np
import pytest

from segtasks.measure.stats import (
    LatencyStats,
    inflation,
    lag1_autocorrelation,
    median_ci,
    min_batches_for,
)
from segtasks.measure.stopping import StoppingRule, is_look


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
    # no trend in arrival order, so no widening for correlation
    stream = [14.0, 10.0, 18.0, 12.0, 100.0, 11.0, 16.0, 13.0, 19.0, 15.0, 17.0]
    stats = LatencyStats.from_samples(stream)
    assert stats.n == 11 and stats.p50_ms == 15.0 and stats.mean_ms == pytest.approx(245 / 11)
    assert stats.iqr_ms == pytest.approx(5.0)  # the outlier moves the mean, not the quartiles
    assert stats.cv == pytest.approx(stats.std_ms / stats.mean_ms)
    assert stats.autocorr < 0 and inflation(stats.autocorr, 11) == 1.0
    assert (stats.ci_low_ms, stats.ci_high_ms) == (11.0, 19.0)
    assert stats.ci_rel == pytest.approx(4 / 15)
    # 11 batches are far too few for a p90, let alone a p99: none rather than a guess
    assert (stats.p90_ms, stats.p95_ms, stats.p99_ms) == (None, None, None)


@pytest.mark.parametrize(("q", "batches"), [(0.90, 100), (0.95, 200), (0.99, 1000)])
def test_a_percentile_is_given_only_from_ten_batches_beyond_it(q, batches):
    assert min_batches_for(q) == batches
    name = f"p{round(q * 100)}_ms"
    rng = np.random.default_rng(4)
    assert getattr(LatencyStats.from_samples(rng.normal(100, 1, batches - 1)), name) is None
    enough = rng.normal(100, 1, batches)
    assert getattr(LatencyStats.from_samples(enough), name) == pytest.approx(
        np.percentile(enough, 100 * q))


def _ar1(rng, phi, n, cv=0.05):
    x = np.empty(n)
    x[0] = rng.normal()
    for i in range(1, n):
        x[i] = phi * x[i - 1] + np.sqrt(1 - phi * phi) * rng.normal()
    return 100 * np.exp(cv * x)


def test_the_lag1_autocorrelation_is_told_from_the_ranks_and_widens_the_interval():
    rng = np.random.default_rng(6)
    assert lag1_autocorrelation([1.0, 2.0]) is None
    assert lag1_autocorrelation([5.0] * 10) is None
    assert abs(lag1_autocorrelation(rng.normal(size=2000))) < 0.06
    assert lag1_autocorrelation(_ar1(rng, 0.7, 2000)) == pytest.approx(0.68, abs=0.05)
    # one wild batch does not hide the correlation of the rest
    spiky = _ar1(rng, 0.7, 300)
    spiky[150] = 1e6
    assert lag1_autocorrelation(spiky) > 0.55
    # sqrt((1 + r) / (1 - r)) with r bias-corrected by (1 + 4r) / n, never below 1
    assert inflation(0.5, 10**9) == pytest.approx(np.sqrt(3))
    assert inflation(0.5, 30) == pytest.approx(np.sqrt((1 + 0.6) / (1 - 0.6)))
    assert inflation(-0.4, 30) == 1.0 and inflation(None, 30) == 1.0
    assert inflation(0.99, 1000) == pytest.approx(np.sqrt(1.95 / 0.05))  # clipped at 0.95


def test_a_widened_interval_reaches_further_out_in_ranks_or_gives_up():
    samples = np.arange(100, dtype=float)
    assert median_ci(samples) == (39.0, 60.0)
    # 10.5 ranks from the middle (49.5) twice over: 21, rounded outwards
    assert median_ci(samples, widen=2.0) == (28.0, 71.0)
    assert median_ci(samples, widen=10.0) == (float("-inf"), float("inf"))


def test_on_correlated_batches_the_stored_interval_holds_the_median_about_95_percent():
    rng = np.random.default_rng(7)
    trials, hits, plain_hits = 400, 0, 0
    for _ in range(trials):
        stream = _ar1(rng, 0.7, 200)
        stats = LatencyStats.from_samples(stream)
        hits += stats.ci_low_ms <= 100 <= stats.ci_high_ms
        low, high = median_ci(stream)  # as if the batches were independent
        plain_hits += low <= 100 <= high
    assert hits / trials >= 0.93
    assert plain_hits / trials < 0.75  # what the old interval claimed at 95%


def test_the_interval_is_looked_at_only_at_geometrically_growing_batch_counts():
    looks = [n for n in range(1, 1000) if is_look(n, min_batches=6)]
    assert looks == [10, 15, 23, 35, 53, 80, 120, 180, 270, 405, 608, 912]
    assert [n for n in range(1, 100) if is_look(n, min_batches=40)] == [40, 60, 90]


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
    # 2 s of 0.1 s batches is 20, and the first look after that is at 23: not 10 batches
    assert stop == "stable" and len(samples) == 23


def test_a_noisy_stream_runs_until_its_interval_is_tight_enough():
    rule = StoppingRule(min_batches=6, min_seconds=0.1, max_seconds=1000.0, ci_target=0.02)
    noisy = 100 * np.random.default_rng(2).lognormal(0, 0.10, 5000)  # CV ~10%
    samples, stop = _run(rule, noisy, batch_s=0.01)
    assert stop == "stable"
    assert 60 < len(samples) < 1000  # roughly (1.25 * 1.96 * 0.10 / 0.02)^2 ~ 150
    assert is_look(len(samples), 6)
    assert LatencyStats.from_samples(samples).ci_rel <= 0.02


def test_a_correlated_stream_needs_more_batches_than_an_independent_one():
    rule = StoppingRule(min_batches=6, min_seconds=0.1, max_seconds=1000.0, ci_target=0.02)
    rng = np.random.default_rng(8)

    def typical(phi):
        runs = [_run(rule, _ar1(rng, phi, 5000), batch_s=0.01) for _ in range(9)]
        assert {stop for _, stop in runs} == {"stable"}
        return np.median([len(samples) for samples, _ in runs])

    # about (1 + 0.7) / (1 - 0.7) = 5.7 times the batches, in whole looks
    assert typical(0.7) >= 2 * typical(0.0)


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
