"""Known answers for the pure parts of the results pages: the noise test of a comparison,
the baseline band, links, and chart specifications."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from segtasks.judge.decide import POWER_Z
from segtasks.judge.metrics import BY_NAME
from segtasks.judge.thresholds import Threshold
from segtasks.judge.two_runs import difference_beyond_noise as difference
from segtasks.ui import charts
from segtasks.ui.columns import QUIET, tone, worst
from segtasks.ui.links import Links
from segtasks.ui.pages import band

SPEED, P90, MEMORY = (BY_NAME[m] for m in ("images_per_s", "latency_p90_ms",
                                           "cuda_peak_reserved_bytes"))
FIVE_PERCENT_Z3 = Threshold(min_effect=0.05, z_threshold=3.0)


def test_a_20_percent_slower_night_is_beyond_the_noise_of_two_quiet_nights():
    diff = difference(SPEED, FIVE_PERCENT_Z3, 10.0, 8.0, noise_a=0.01, noise_b=0.01)
    assert diff.change == pytest.approx(-0.2)
    assert diff.noise == pytest.approx(math.hypot(0.01, 0.01))
    assert diff.z == pytest.approx(0.2 / math.hypot(0.01, 0.01))
    assert (diff.beyond_noise, diff.worse, diff.word) == (True, True, "worse")


def test_a_large_change_inside_large_noise_is_within_the_noise():
    # 10% faster, but each night's noise is 5%: z = 0.1 / 0.0707 = 1.4 < 3
    diff = difference(SPEED, FIVE_PERCENT_Z3, 10.0, 11.0, noise_a=0.05, noise_b=0.05)
    assert diff.z == pytest.approx(-0.1 / math.hypot(0.05, 0.05))
    assert (diff.beyond_noise, diff.worse, diff.word) == (False, False, "within noise")


def test_a_small_change_far_outside_the_noise_is_still_below_the_minimum_effect():
    diff = difference(SPEED, FIVE_PERCENT_Z3, 10.0, 9.7, noise_a=0.001, noise_b=0.001)
    assert diff.z > 3 and not diff.beyond_noise


def test_without_a_verdict_each_nights_own_interval_is_its_noise_floored():
    # 95% interval of +-3.92% -> sigma 2%; the other night falls back to the 0.5% floor
    diff = difference(P90, FIVE_PERCENT_Z3, 100.0, 110.0, ci_a=0.0392, ci_b=None)
    assert diff.noise == pytest.approx(math.hypot(0.02, SPEED.noise_floor))
    assert diff.worse and diff.beyond_noise  # higher latency is worse


def test_memory_ignores_the_latency_interval_and_uses_its_floor():
    diff = difference(MEMORY, Threshold(0.02, 3.0), 2.0, 2.1, ci_a=0.5, ci_b=0.5)
    assert diff.noise == pytest.approx(math.hypot(MEMORY.noise_floor, MEMORY.noise_floor))
    assert diff.beyond_noise and diff.worse


def test_nothing_to_compare_when_a_side_is_missing():
    diff = difference(SPEED, FIVE_PERCENT_Z3, None, 8.0)
    assert (diff.change, diff.beyond_noise, diff.word) == (None, False, "n/a")


def test_the_band_is_the_baseline_plus_minus_the_smallest_change_the_judge_flags():
    verdict = SimpleNamespace(baseline=10.0, noise=0.02, min_effect=0.05, z_threshold=3.0)
    assert band(verdict) == pytest.approx((9.4, 10.6))  # 3 x 2% = 6% > 5% - 1.28 x 2%
    quiet = SimpleNamespace(baseline=10.0, noise=0.005, min_effect=0.05, z_threshold=3.0)
    gate = 0.05 - POWER_Z * 0.005  # the minimum effect, lowered by 1.2816 noise units
    assert band(quiet) == pytest.approx((10.0 * (1 - gate), 10.0 * (1 + gate)))
    assert band(SimpleNamespace(baseline=10.0, noise=None, min_effect=0.05,
                                z_threshold=3.0)) is None


def test_an_unknown_verdict_needs_attention_until_it_is_given_a_tone():
    assert tone("regression") == "bad" and tone("unchanged") == "ok"
    assert tone("disturbed") == "warn" and "disturbed" not in QUIET
    assert worst(["unchanged", "disturbed", "improvement"]) == "disturbed"
    assert worst(["unchanged", "regression", "disturbed"]) == "regression"


def test_links_follow_the_mount_point_and_escape_every_part():
    links = Links(root="/segbench", airflow="")
    assert links.series("cpu-bs1-fp32", "cpu=A (2 threads); gpu=none") == (
        "/segbench/series/cpu-bs1-fp32?hardware=cpu%3DA+%282+threads%29%3B+gpu%3Dnone")
    assert links.task_instance("segbench_nightly", "manual__2026-11-28T10:00:00+00:00",
                               "bench_cpu", 3) == (
        "/dags/segbench_nightly/runs/manual__2026-11-28T10%3A00%3A00%2B00%3A00"
        "/tasks/bench_cpu/mapped/3")
    assert Links(root="", airflow=None).task_instance("d", "r", "t", 0) is None


def _result(device, batch_size, ips, reserved=None):
    return SimpleNamespace(device=device, batch_size=batch_size, precision="fp32",
                           channels_last=False, threads=None, status="ok", images_per_s=ips,
                           cuda_peak_reserved_bytes=reserved, host_peak_rss_bytes=2**30)


def test_cpu_and_gpu_throughput_share_a_log2_batch_size_chart_on_their_own_axes():
    spec = charts.by_batch_size("x", [_result("cpu", 1, 6.0), _result("cpu", 4, 7.0),
                                      _result("cuda", 4, 300.0, 2**31),
                                      _result("cuda", 16, 900.0, 2**32)], "speed")
    assert spec["x"] == {"kind": "log2", "label": "batch size"}
    assert spec["xs"] == [1, 4, 16]
    assert spec["axes"] == [{"scale": "cpu", "label": "CPU images/s", "side": "left"},
                            {"scale": "cuda", "label": "GPU images/s", "side": "right"}]
    assert [(s["label"], s["scale"], s["values"]) for s in spec["series"]] == [
        ("CPU fp32", "cpu", [6.0, 7.0, None]), ("CUDA fp32", "cuda", [None, 300.0, 900.0])]


def test_memory_against_batch_size_is_in_gib():
    spec = charts.by_batch_size("m", [_result("cuda", 4, 300.0, 2**31)], "memory")
    assert {s["label"]: s["values"] for s in spec["series"]} == {
        "CUDA fp32 CUDA reserved": [2.0], "CUDA fp32 host RSS": [1.0]}
    assert charts.by_batch_size("none", [], "memory") is None


def test_a_trend_marks_tonight_and_draws_the_baseline():
    nights = [(datetime(2026, 11, d, tzinfo=UTC), v) for d, v in ((1, 10.0), (2, 8.0))]
    spec = charts.trend("t", "cpu-bs1-fp32", "images_per_s", nights, nights[-1][0], 10.0)
    assert spec["xs"] == [nights[0][0].timestamp(), nights[1][0].timestamp()]
    assert [(s["label"], s["values"]) for s in spec["series"]] == [
        ("Inference throughput", [10.0, 8.0]), ("baseline median", [10.0, 10.0]),
        ("tonight", [None, 8.0])]
