"""Output parity: the metrics on known arrays, outputs in their compact form, the
tolerances as run parameters, and the verdicts a stored night gets on its outputs."""

from __future__ import annotations

import numpy as np
import pytest
from factories import judge, result

from segtasks import store
from segtasks.parity import metrics
from segtasks.parity.outputs import Outputs, decode, device_kind, encode
from segtasks.parity.tolerance import Tolerance
from segtasks.plan import ParamError, validate
from segtasks.plan.params import OUTPUT_TOLERANCES
from segtasks.result import OutputCheck
from segtasks.store import golden, repository


def test_max_abs_diff_is_the_largest_difference_of_probabilities():
    a = np.array([[[0.1, 0.5], [0.9, 0.2]]], dtype=np.float32)
    b = np.array([[[0.1, 0.75], [0.8, 0.2]]], dtype=np.float32)
    assert metrics.max_abs_diff(a, b) == pytest.approx(0.25)
    assert metrics.max_abs_diff(a, a) == 0.0
    with pytest.raises(ValueError, match="shape"):
        metrics.max_abs_diff(a, b[:, :1])


def test_mask_mismatch_and_iou_are_pooled_over_the_images():
    # image 1: 4 pixels, foreground {0, 1} vs {1, 2}; image 2: 2 pixels, both empty
    a = [np.array([[True, True], [False, False]]), np.array([False, False])]
    b = [np.array([[False, True], [True, False]]), np.array([False, False])]
    assert metrics.mask_mismatch(a, b) == pytest.approx(2 / 6)
    assert metrics.iou(a, b) == pytest.approx(1 / 3)  # intersection 1, union 3
    assert metrics.iou(a, a) == 1.0 and metrics.mask_mismatch(a, a) == 0.0
    empty = [np.zeros((2, 2), bool)]
    assert metrics.iou(empty, empty) == 1.0  # two empty foregrounds agree
    with pytest.raises(ValueError, match="cannot compare 2 masks with 1"):
        metrics.iou(a, b[:1])


def test_parity_gathers_the_three_figures():
    probs = np.array([[[0.2, 0.6]]], dtype=np.float32)
    found = metrics.parity(probs, [np.array([[False, True]])], probs + 0.3,
                           [np.array([[True, True]])])
    assert found == metrics.Parity(pytest.approx(0.3), 0.5, 0.5)


def _outputs(shift: float = 0.0, size: int = 8) -> Outputs:
    rng = np.random.default_rng(0)
    probs = np.clip(rng.uniform(0, 1, (2, size, size)) + shift, 0, 1).astype(np.float32)
    masks = tuple(p >= 0.5 for p in probs)
    return Outputs(("a.png", "b.png"), probs, masks)


def test_outputs_survive_their_compact_form_and_their_checksum_sees_any_change():
    outputs = _outputs()
    back = decode(encode(outputs))
    assert back is not None and back.names == outputs.names
    np.testing.assert_array_equal(back.probs, outputs.probs)
    for mine, theirs in zip(back.masks, outputs.masks, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert back.checksum() == outputs.checksum()
    nudged = Outputs(outputs.names, outputs.probs + np.float32(1e-7), outputs.masks)
    assert nudged.checksum() != outputs.checksum()
    summary = outputs.summary()
    assert [s["mask_pixels"] for s in summary] == [int(m.sum()) for m in outputs.masks]
    assert summary[0]["prob_mean"] == pytest.approx(float(outputs.probs[0].mean()), abs=1e-6)


def test_device_kind_is_the_model_of_the_device():
    hardware = {"cpu_model": "AMD EPYC 7B13", "gpus": [{"name": "NVIDIA H100"},
                                                        {"name": "NVIDIA A100"}]}
    assert device_kind("cpu", hardware) == "cpu: AMD EPYC 7B13"
    assert device_kind("cuda", hardware, 1) == "cuda: NVIDIA A100"


def test_output_tolerances_are_run_parameters_merged_over_their_defaults():
    judging = validate({"output_tolerances": {"bf16": {"mask_mismatch": 0.01}}}).judging
    assert judging.tolerance("bf16") == Tolerance(OUTPUT_TOLERANCES["bf16"]["max_abs_diff"],
                                                  0.01)
    assert judging.tolerance("fp32") == Tolerance(**OUTPUT_TOLERANCES["fp32"])
    with pytest.raises(ParamError, match="output_tolerances"):
        validate({"output_tolerances": {"int8": {"max_abs_diff": 0.1}}})
    with pytest.raises(ParamError, match="output_tolerances.fp16.max_abs_diff"):
        validate({"output_tolerances": {"fp16": {"max_abs_diff": 2}}})
    tolerance = Tolerance(max_abs_diff=0.1, mask_mismatch=0.01)
    assert tolerance.admits(0.1, 0.01) and not tolerance.admits(0.11, 0.0)
    assert not tolerance.admits(0.0, 0.02)


def _checked(made, outputs: Outputs, *, parity=(0.0, 0.0, 1.0), kind="cpu: Test CPU"):
    made.weights_sha256, made.dataset_fingerprint = "w" * 64, "data0001"
    made.outputs = OutputCheck(
        parity_images=len(outputs.names), parity_max_abs_diff=parity[0],
        parity_mask_mismatch=parity[1], parity_iou=parity[2], truth_iou=0.97,
        device_kind=kind, reference_checksum=outputs.checksum())
    made.reference_outputs = encode(outputs)
    return made


def _night(engine, name, made, code="abc"):
    run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=name,
                                 trigger="scheduled", params={}, code_version=code)
    repository.save_result(engine, run_pk, made)
    return run_pk


def _env(torch_version):
    return {"hardware_key": "cpu=Test CPU (2 threads); gpu=none",
            "hardware": {"cpu_model": "Test CPU"}, "software": {"torch": torch_version}}


def test_a_case_beyond_its_precisions_tolerance_gets_outputs_differ_beside_its_speed(db_url):
    engine = store.connect(db_url)
    made = _checked(result(), _outputs(), parity=(0.4, 0.02, 0.9))
    made.case = made.case.__class__(**{**made.case.to_dict(), "precision": "bf16"})
    run_pk = _night(engine, "n1", made)
    verdicts = {v.metric: v for v in judge(engine, run_pk)}
    assert verdicts["images_per_s"].verdict == "new"  # the speed verdict stands
    assert verdicts["outputs"].verdict == "outputs_differ"
    assert "masks differing 2.000%" in verdicts["outputs"].detail
    assert repository.run_result(engine, run_pk, made.case.key).parity_ok is False
    # a looser tolerance for bf16, given as a run parameter, changes the verdict
    loose = {"output_tolerances": {"bf16": {"max_abs_diff": 0.5, "mask_mismatch": 0.05}}}
    verdicts = {v.metric: v for v in judge(engine, run_pk, **loose)}
    assert verdicts["outputs"].verdict == "outputs_match"
    assert repository.run_result(engine, run_pk, made.case.key).parity_ok is True


def test_the_first_night_makes_the_golden_outputs_and_a_drift_gets_outputs_changed(db_url):
    engine = store.connect(db_url)
    first = _night(engine, "n1", _checked(result(environment=_env("2.15.0")), _outputs()))
    made = {v.metric: v for v in judge(engine, first)}
    assert made["golden"].verdict == "golden_created"
    [kept] = golden.listing(engine)
    assert (kept.state, kept.run_pk, kept.device_kind) == ("golden", first, "cpu: Test CPU")
    assert kept.summary == _outputs().summary()

    same = _night(engine, "n2", _checked(result(environment=_env("2.15.0")), _outputs()))
    assert {v.metric: v.verdict for v in judge(engine, same)}["golden"] == "outputs_unchanged"
    assert repository.run_result(engine, same, "cpu-bs1-fp32").golden_max_abs_diff == 0.0

    drifted = _night(engine, "n3", _checked(result(environment=_env("2.16.0")),
                                            _outputs(shift=0.2)), code="def")
    verdict = {v.metric: v for v in judge(engine, drifted)}["golden"]
    assert verdict.verdict == "outputs_changed"
    assert verdict.software_changes == ["code abc -> def", "torch 2.15.0 -> 2.16.0"]
    assert verdict.baseline_run_pks == [first]
    stored = repository.run_result(engine, drifted, "cpu-bs1-fp32")
    assert stored.golden_id == kept.id and stored.golden_max_abs_diff == pytest.approx(0.2,
                                                                                    abs=1e-6)
    assert 0 < stored.golden_mask_mismatch < 1
    # the night's own outputs are kept as a candidate a curator can accept
    assert [r.state for r in golden.listing(engine, include_all=True)] == ["candidate",
                                                                           "golden"]


def test_storing_a_result_only_keeps_its_reference_and_judging_applies_the_golden_policy(
        db_url):
    engine = store.connect(db_url)
    run_pk = _night(engine, "n1", _checked(result(), _outputs()))
    assert golden.listing(engine) == []  # the write decided nothing
    assert [g.state for g in golden.listing(engine, include_all=True)] == ["candidate"]
    assert repository.run_result(engine, run_pk, "cpu-bs1-fp32").golden_id is None
    judge(engine, run_pk)
    [made] = golden.listing(engine, include_all=True)
    assert (made.state, made.run_pk) == ("golden", run_pk)
    assert repository.run_result(engine, run_pk, "cpu-bs1-fp32").golden_id == made.id
    judge(engine, run_pk)  # judging again changes nothing
    assert golden.listing(engine, include_all=True) == [made]


def test_golden_accept_renews_the_golden_outputs_and_undo_takes_it_back(db_url, capsys):
    from segtasks.cli import main

    engine = store.connect(db_url)
    first = _night(engine, "n1", _checked(result(), _outputs()))
    judge(engine, first)  # the judge keeps a night's outputs when they differ
    drifted = _night(engine, "n2", _checked(result(), _outputs(shift=0.2)))
    judge(engine, drifted)
    assert main(["golden", "accept", "--from", "n1", "--reason", "x", "--url", db_url]) == 2
    assert "already the golden ones" in capsys.readouterr().err
    assert main(["golden", "accept", "--from", "n2", "--reason", "new torch, checked by eye",
                 "--by", "ana", "--url", db_url]) == 0
    [now] = golden.listing(engine)
    assert (now.run_pk, now.accepted_by, now.reason) == (drifted, "ana",
                                                         "new torch, checked by eye")
    # the next night like n2 is unchanged against the accepted outputs
    again = _night(engine, "n3", _checked(result(), _outputs(shift=0.2)))
    assert {v.metric: v.verdict for v in judge(engine, again)}["golden"] == "outputs_unchanged"
    assert main(["golden", "undo", "999", "--url", db_url]) == 2
    assert "no golden outputs with id 999" in capsys.readouterr().err  # not "not golden now"
    assert main(["golden", "undo", str(now.id), "--url", db_url]) == 0
    assert main(["golden", "undo", str(now.id), "--url", db_url]) == 2
    assert f"golden outputs {now.id} are not the golden ones now" in capsys.readouterr().err
    [back] = golden.listing(engine)
    assert back.run_pk == first
    assert main(["golden", "list", "--all", "--url", db_url]) == 0
    listed = capsys.readouterr().out
    assert "golden on cpu: Test CPU" in listed and "candidate" in listed


def test_outputs_not_comparable_with_the_golden_ones_still_store_the_result(db_url):
    engine = store.connect(db_url)
    judge(engine, _night(engine, "n1", _checked(result(), _outputs())))
    other = Outputs(("a.png",), _outputs().probs[:1], _outputs().masks[:1])  # fewer images
    run_pk = _night(engine, "n2", _checked(result(), other))
    verdict = {v.metric: v for v in judge(engine, run_pk)}["golden"]
    assert verdict.verdict == "outputs_changed" and "not comparable" in verdict.detail
    row = repository.run_result(engine, run_pk, "cpu-bs1-fp32")
    assert row.status == "ok" and row.golden_max_abs_diff is None
    assert any("not comparable with golden outputs" in w for w in row.warnings)


def test_the_report_names_the_weights_and_warns_when_they_are_untrained():
    from types import SimpleNamespace

    from segtasks.measure.provenance import UNTRAINED_WARNING
    from segtasks.report.outputs import output_rows, weights_lines

    def row(sha, origin, **figures):
        return SimpleNamespace(weights_sha256=sha, weights_origin=origin, case_key="cpu-bs1-fp32",
                               **figures)

    trained = [row("a" * 64, "trained-demo"), row("a" * 64, "trained-demo")]
    assert weights_lines(trained) == [
        "Weights aaaaaaaaaaaa: trained demo weights (segbench train-demo)"]
    seeded = weights_lines([row("b" * 64, "seeded-random")])
    assert seeded[-1] == UNTRAINED_WARNING
    assert "unrecorded origin" in weights_lines([row("c" * 64, "unrecorded")])[0]
    checked = row("a" * 64, "trained-demo", parity_images=4, parity_max_abs_diff=0.042,
                  parity_mask_mismatch=1.7e-5, parity_iou=0.99982, truth_iou=0.9791,
                  parity_ok=False, golden_max_abs_diff=0.0)
    [shown] = output_rows([checked, row("a" * 64, "trained-demo", parity_images=None)])
    assert shown["Max abs dp"] == "0.042" and shown["Masks differing"] == "0.002%"
    assert shown["Within tolerance"] == "NO" and shown["IoU vs truth"] == "0.9791"
