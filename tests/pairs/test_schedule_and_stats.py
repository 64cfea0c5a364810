"""The order of the sides in each pair, and the paired statistics against values worked
out by hand (t quantiles from tables) and against scipy's own paired test."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats as scipy_stats

from segtasks.domain.paired import Side
from segtasks.pairs.schedule import CONTROL_FIRST, TREATMENT_FIRST, pair_orders
from segtasks.pairs.stats import (
    PairedValuesError,
    detectable,
    paired_summary,
    pairs_needed,
)

# --- schedule ---


@pytest.mark.parametrize("n", [2, 4, 6, 10, 20])
def test_an_even_number_of_pairs_is_balanced_and_so_is_every_even_prefix(n):
    for seed in range(30):
        orders = pair_orders(n, random.Random(seed))
        assert len(orders) == n
        for end in range(2, n + 1, 2):
            assert orders[:end].count(CONTROL_FIRST) == end // 2
            assert orders[:end].count(TREATMENT_FIRST) == end // 2


def test_an_odd_number_of_pairs_is_balanced_up_to_one():
    for seed in range(30):
        orders = pair_orders(5, random.Random(seed))
        assert abs(orders.count(CONTROL_FIRST) - orders.count(TREATMENT_FIRST)) == 1


def test_each_pair_holds_both_sides_once():
    for order in pair_orders(7, random.Random(3)):
        assert sorted(order) == sorted((Side.CONTROL, Side.TREATMENT))


def test_the_orders_are_deterministic_for_a_seed_and_randomized_across_seeds():
    assert pair_orders(12, random.Random(42)) == pair_orders(12, random.Random(42))
    seen = {tuple(pair_orders(12, random.Random(seed))) for seed in range(20)}
    assert len(seen) > 1  # not one fixed ABBA pattern
    assert pair_orders(0, random.Random(1)) == []


# --- stats, worked by hand ---

T_975_2 = 4.302652729911275  # t quantiles with 2 degrees of freedom (a t table)
T_90_2 = 1.8856180831641267


def test_three_pairs_match_the_hand_worked_interval_and_mde():
    # per-pair log ratios -0.05, -0.07, -0.06: mean -0.06, standard deviation 0.01
    control = [200.0, 150.0, 180.0]
    treatment = [c * math.exp(d) for c, d in zip(control, (-0.05, -0.07, -0.06), strict=True)]
    s = paired_summary(control, treatment)
    half = T_975_2 * 0.01 / math.sqrt(3)
    assert s.n == 3
    assert s.log_sd == pytest.approx(0.01)
    assert s.ratio == pytest.approx(math.exp(-0.06))
    assert s.ci_low == pytest.approx(math.exp(-0.06 - half))
    assert s.ci_high == pytest.approx(math.exp(-0.06 + half))
    assert s.mde == pytest.approx(math.exp((T_975_2 + T_90_2) * 0.01 / math.sqrt(3)) - 1)
    # t = -0.06 / (0.01 / sqrt 3) with 2 degrees of freedom, two-sided
    t = -0.06 / (0.01 / math.sqrt(3))
    assert s.p_value == pytest.approx(2 * scipy_stats.t.sf(abs(t), 2))
    assert s.change == pytest.approx(math.exp(-0.06) - 1)


def test_the_summary_agrees_with_scipys_paired_t_test_on_the_logs():
    rng = random.Random(5)
    control = [100 * rng.uniform(0.95, 1.05) for _ in range(7)]
    treatment = [c * rng.uniform(0.9, 1.0) for c in control]
    s = paired_summary(control, treatment, confidence=0.9)
    logs_t, logs_c = [math.log(v) for v in treatment], [math.log(v) for v in control]
    ref = scipy_stats.ttest_rel(logs_t, logs_c)
    low, high = ref.confidence_interval(0.9)
    assert s.p_value == pytest.approx(ref.pvalue)
    assert (s.ci_low, s.ci_high) == (pytest.approx(math.exp(low)), pytest.approx(math.exp(high)))
    assert s.confidence == 0.9


def test_the_ratio_is_symmetric_in_the_logs():
    s = paired_summary([100.0, 100.0], [50.0, 200.0])
    assert s.ratio == pytest.approx(1.0)


def test_the_mde_shrinks_as_pairs_are_added():
    mdes = [detectable(0.02, n) for n in range(2, 16)]
    assert all(a > b for a, b in zip(mdes, mdes[1:], strict=False))
    assert detectable(0.02, 1) is None


def test_fewer_than_two_pairs_have_no_interval_and_no_mde():
    one = paired_summary([100.0], [90.0])
    assert one.n == 1 and one.ratio == pytest.approx(0.9)
    assert one.ci_low is None and one.p_value is None and one.mde is None
    none = paired_summary([], [])
    assert none.n == 0 and none.ratio is None


def test_identical_ratios_give_a_zero_width_interval_and_a_definite_p():
    same = paired_summary([100.0, 200.0, 50.0], [90.0, 180.0, 45.0])
    assert same.ci_low == pytest.approx(0.9) and same.ci_high == pytest.approx(0.9)
    assert same.p_value == 0.0 and same.mde == 0.0
    assert paired_summary([100.0, 100.0], [100.0, 100.0]).p_value == 1.0


def test_values_that_cannot_be_paired_are_refused():
    with pytest.raises(PairedValuesError, match="2 control values but 1"):
        paired_summary([1.0, 2.0], [1.0])
    with pytest.raises(PairedValuesError, match="positive"):
        paired_summary([1.0, 0.0], [1.0, 1.0])


# --- how many pairs ---


def test_pairs_needed_is_the_smallest_n_whose_mde_is_small_enough():
    log_sd, min_effect = 0.02, 0.03
    n = pairs_needed(log_sd, min_effect, cap=50)
    assert detectable(log_sd, n) <= min_effect < detectable(log_sd, n - 1)


def test_pairs_needed_is_clamped_to_the_floor_and_the_cap():
    assert pairs_needed(0.0, 0.05) == 3
    assert pairs_needed(0.0, 0.05, floor=5) == 5
    assert pairs_needed(0.5, 0.01, cap=12) == 12
    assert pairs_needed(float("nan"), 0.05, cap=9) == 9
    with pytest.raises(PairedValuesError, match="below the floor"):
        pairs_needed(0.01, 0.05, floor=5, cap=4)
