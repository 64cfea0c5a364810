"""Known answers for the pure parts of the results pages: the noise test of a comparison,
the baseline band, links, and chart specifications."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.judge.decide import POWER_Z
from segtasks.judge.metrics import BY_NAME
from segtasks.judge.thresholds import Threshold, night_thresholds
from segtasks.judge.two_runs import difference_beyond_noise as difference
from segtasks.plan import validate
from segtasks.ui import charts
from segtasks.ui.columns import QUIET, calm_badge, tone, verdict_badges, verdict_words, worst
from segtasks.ui.links import Links
from segtasks.ui.pages import band, changes
from segtasks.ui.pages.common import run_label, short_code
from segtasks.ui.pages.compare import case_changes

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


def test_a_band_of_a_noisy_series_stops_at_zero():
    # 40% noise: the band is +-120%, but no night goes below 0 images/s
    noisy = SimpleNamespace(baseline=10.0, noise=0.4, min_effect=0.05, z_threshold=3.0)
    assert band(noisy) == pytest.approx((0.0, 22.0))


def test_an_unknown_verdict_needs_attention_until_it_is_given_a_tone():
    assert tone("regression") == "bad" and tone("unchanged") == "ok"
    assert tone("a_verdict_from_the_future") == "warn"
    assert "disturbed" not in QUIET
    assert worst(["unchanged", "disturbed", "improvement"]) == "disturbed"
    assert worst(["unchanged", "regression", "disturbed"]) == "regression"


def test_each_direction_of_a_change_has_its_own_colour():
    tones = [tone(v) for v in ("regression", "improvement", "inconclusive", "disturbed",
                               "outputs_changed")]
    assert tones == ["bad", "good", "unsure", "disturbed", "outputs"]


def test_verdicts_are_said_in_words():
    assert [verdict_words(v) for v in ("outputs_unchanged", "insufficient_history",
                                       "regression", "new", "golden_created")] == [
        "outputs unchanged", "insufficient history", "regression", "new series",
        "golden outputs created"]


def test_calm_verdicts_are_counted_in_one_badge_and_the_rest_listed_most_severe_first():
    counts = {"unchanged": 8, "insufficient_history": 3, "outputs_unchanged": 1,
              "improvement": 1, "regression": 2, "inconclusive": 4}
    assert [(b["text"], b["tone"]) for b in verdict_badges(counts)] == [
        ("2 regression", "bad"), ("4 inconclusive", "unsure"), ("1 improvement", "good"),
        ("12 quiet", "ok")]
    assert verdict_badges(counts)[-1]["title"] == (
        "nothing to look at: 8 unchanged, 3 insufficient history, 1 outputs unchanged")
    assert calm_badge({"unchanged": 1}, "case")["text"] == "1 quiet case"
    assert calm_badge({"regression": 1}) is None


def _verdict(case, verdict, change=None, metric="images_per_s", **more):
    return Verdict(case_key=case, hardware_key="h", metric=metric, verdict=verdict,
                   relative_change=change, **more)


def test_what_changed_lists_failures_first_then_the_biggest_change_then_the_rest():
    verdicts = [
        _verdict("a", VerdictKind.REGRESSION, -0.06),
        _verdict("b", VerdictKind.INCONCLUSIVE, -0.32, mde=1.144),
        _verdict("c", VerdictKind.IMPROVEMENT, 0.12),
        _verdict("d", VerdictKind.DISTURBED, metric="status", detail="not compared: steal"),
        _verdict("e", VerdictKind.FAILED, metric="status"),
        _verdict("f", VerdictKind.UNCHANGED, -0.01),
        _verdict("g", VerdictKind.REGRESSION, 0.044, metric="host_peak_rss_bytes"),
        _verdict("h", VerdictKind.INCONCLUSIVE, 0.3, metric="latency_p90_ms"),
        _verdict("i", VerdictKind.OUTPUTS_UNCHANGED, metric="outputs"),
        _verdict("j", VerdictKind.REGRESSION, metric="status", detail="status oom: ..."),
    ]
    listed = changes.from_verdicts(verdicts)
    # a case that stopped working, then a failed one (a case that never worked), by
    # severity; then by size; then a disturbed one
    assert [c.case_key for c in listed] == ["j", "e", "b", "c", "a", "g", "d"]
    inconclusive = next(c for c in listed if c.case_key == "b")
    assert inconclusive.detail == "inconclusive: this night cannot see changes under 114.4%"
    assert changes.quiet_cases(verdicts) == {"unchanged": 1, "outputs_unchanged": 1,
                                              "inconclusive": 1}


def test_a_night_is_named_by_its_number_start_and_code():
    run = SimpleNamespace(id=5, started_at=datetime(2026, 12, 7, 2, 0, tzinfo=UTC),
                          code_version="4ff042b1c2d3")
    assert run_label(run) == "Night 5 · 7 Dec 02:00 · code 4ff042b"
    assert run_label(SimpleNamespace(id=12, started_at=datetime(2026, 1, 3, 23, 59),
                                     code_version=None)) == "Night 12 · 3 Jan 23:59"
    assert short_code("4ff042b1c2d3-dirty") == "4ff042b-dirty"
    assert short_code("segbench-0.9.0") == "segbench-0.9.0"


def test_a_tooltip_note_says_baseline_change_and_z_in_words():
    judged = _verdict("a", VerdictKind.REGRESSION, -0.2, baseline=10.0, z=6.24)
    assert charts.verdict_note(judged) == (
        "baseline 10.000 images/s, change -20.0%, z +6.2: regression")
    unsure = _verdict("a", VerdictKind.INCONCLUSIVE, -0.3, mde=0.23)
    assert charts.verdict_note(unsure) == (
        "change -30.0%: inconclusive: this night cannot see changes under 23.0%")
    assert charts.verdict_note(_verdict("a", VerdictKind.INSUFFICIENT_HISTORY)) == (
        "insufficient history")


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
    return SimpleNamespace(case_key=f"{device}-bs{batch_size}-fp32", device=device,
                           batch_size=batch_size, precision="fp32",
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


def test_a_judged_point_says_its_baseline_change_and_z():
    judged = Verdict(case_key="cpu-bs4-fp32", hardware_key="h", metric="images_per_s",
                     verdict=VerdictKind.IMPROVEMENT, baseline=6.0, relative_change=0.1667,
                     z=-5.0)
    spec = charts.by_batch_size("x", [_result("cpu", 1, 6.0), _result("cpu", 4, 7.0)],
                                "speed", [judged])
    assert spec["series"][0]["notes"] == [
        None, "baseline 6.000 images/s, change +16.7%, z -5.0: improvement"]
    assert charts.by_batch_size("x", [_result("cpu", 1, 6.0)], "speed")["series"][0][
        "notes"] is None


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
    judged = _verdict("cpu-bs1-fp32", VerdictKind.REGRESSION, -0.2, baseline=10.0, z=6.0)
    marked = charts.trend("t", "cpu-bs1-fp32", "images_per_s", nights, nights[-1][0], 10.0,
                          judged)
    assert marked["series"][-1]["notes"] == [
        None, "baseline 10.000 images/s, change -20.0%, z +6.0: regression"]


def _record(change, noise, beyond=False, worse=None):
    metric = {"a": 10.0, "b": 10.0 * (1 + change), "change": change, "noise": noise,
              "z": -change / noise, "beyond_noise": beyond, "worse": worse, "word": ""}
    return {"case_key": "cpu-bs1-fp32", "hardware_a": "h", "hardware_b": "h",
            "metrics": {"images_per_s": metric}}


def test_compare_calls_a_big_change_two_noisy_nights_cannot_tell_inconclusive():
    ok = SimpleNamespace(status="ok")
    thresholds = night_thresholds(validate({}).judging)
    # 30% faster, but at 10% noise of the difference the two nights see only 43% or more
    [unsure] = case_changes(_record(0.3, 0.10), ok, ok, [], thresholds)
    assert (unsure.verdict, unsure.detail) == (
        "inconclusive", "these two nights cannot see changes under 42.8%")
    # as noisy, but a change below the minimum effect: nothing to list
    assert case_changes(_record(0.01, 0.10), ok, ok, [], thresholds) == []
    [worse] = case_changes(_record(-0.2, 0.01, True, True), ok, ok, [], thresholds)
    assert (worse.verdict, worse.change, worse.tonight, worse.baseline) == (
        "regression", -0.2, 8.0, 10.0)
    [gone] = case_changes(_record(-0.2, 0.01, True, True), ok, None, [], thresholds)
    assert gone.verdict == "missing"


def test_a_disturbed_night_is_marked_on_every_chart_of_its_series():
    """A disturbed case has one verdict, on its status, and none per metric; its values are
    still drawn, so each chart marks them rather than drawing a good night."""
    from segtasks.ui.pages.series import series_charts

    def night(day: int, ips: float, verdicts: dict) -> dict:
        return {"run": {"started_at": datetime(2026, 12, day, 2, tzinfo=UTC),
                        "name": f"Night {day}", "excluded": False},
                "status": "ok", "software_changes": [], "verdicts": verdicts,
                "values": {"images_per_s": ips, "latency_p90_ms": None,
                           "cuda_peak_reserved_bytes": None, "host_peak_rss_bytes": 2**30}}

    unchanged = {"verdict": "unchanged", "note": "unchanged", "band": None}
    records = [night(1, 10.0, {"images_per_s": unchanged, "host_peak_rss_bytes": unchanged}),
               night(2, 8.0, {"status": {"verdict": "disturbed", "note": "disturbed",
                                         "band": None}}),
               night(3, 10.1, {"images_per_s": unchanged, "host_peak_rss_bytes": unchanged})]
    drawn = series_charts("cpu-bs1-fp32", records, [])
    assert [c["title"] for c in drawn] == ["cpu-bs1-fp32: Inference throughput",
                                          "cpu-bs1-fp32: Peak memory"]
    for chart in drawn:
        marks = [s for s in chart["series"] if s["label"].endswith("disturbed")]
        assert len(marks) == 1 and marks[0]["tone"] == "disturbed", chart["title"]
        assert [v is not None for v in marks[0]["values"]] == [False, True, False]
        assert chart["series"][0]["notes"] == ["unchanged", "disturbed", "unchanged"]
