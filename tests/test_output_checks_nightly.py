"""Output checks through the night's own steps (segtasks.nightly, as the DAG and `segbench
run` call them), each case in its own process: a planted change of the case's outputs gives
`outputs_differ`, a planted change of every output gives `outputs_changed` against the
golden outputs the first night made; the speed verdicts stand beside them."""

from __future__ import annotations

import pytest

from segtasks import nightly, store
from segtasks.measure import planted
from segtasks.measure.provenance import UNTRAINED_WARNING
from segtasks.store import golden, repository

# one quick CPU case per night; the validity checks are off on this shared machine
CONF = {"devices": ["cpu"], "batch_sizes": [1], "cpu_threads": [1], "n_images": 1,
        "warmup_batches": 1, "warmup_seconds": 0, "min_seconds": 0.01, "max_seconds": 0.3,
        "end_to_end_seconds": 0, "end_to_end_passes": 1, "max_interference": 1,
        "max_steal": 1}
KEY = "cpu-bs1-fp32-t1"


def _night(name, url, inputs, weights):
    params = nightly.plan(CONF)
    run_pk = nightly.open_run(db_url=url, dag_id="segbench_nightly", run_id=name,
                              trigger="manual", params=params).pk
    for case in params.cases:
        nightly.bench(case.to_dict(), run_pk, db_url=url, inputs=inputs, weights=weights)
    outcome = nightly.judge_and_close(run_pk, params, db_url=url)
    return outcome, {(v.case_key, v.metric): v for v in outcome.verdicts}


@pytest.mark.slow
def test_planted_output_changes_give_outputs_differ_and_outputs_changed(
        sqlite_url, tiny_inputs, weights_file, monkeypatch):
    store.upgrade(sqlite_url)
    first, verdicts = _night("n1", sqlite_url, tiny_inputs, weights_file)
    assert verdicts[(KEY, "outputs")].verdict == "outputs_match"
    assert verdicts[(KEY, "golden")].verdict == "golden_created"
    engine = store.connect(sqlite_url)
    row = repository.run_result(engine, first.run_pk, KEY)
    # an fp32 eager case is its own reference: identical outputs, in the same process
    assert (row.parity_max_abs_diff, row.parity_mask_mismatch, row.parity_iou) == (0, 0, 1)
    assert row.parity_ok is True and row.parity_images == 3 and row.truth_iou is not None
    assert row.weights_origin == "seeded-random"
    assert UNTRAINED_WARNING in first.text  # the report says the masks mean nothing

    monkeypatch.setenv(planted.OUTPUT_SHIFT_VARIABLE, "4")  # every output, reference too
    monkeypatch.setenv(planted.CASE_OUTPUT_SHIFT_VARIABLE, "-6")  # and the case's own more
    second, verdicts = _night("n2", sqlite_url, tiny_inputs, weights_file)

    differ = verdicts[(KEY, "outputs")]
    assert differ.verdict == "outputs_differ" and "tolerance for fp32" in differ.detail
    changed = verdicts[(KEY, "golden")]
    assert changed.verdict == "outputs_changed"
    assert changed.baseline_run_pks == [first.run_pk]
    assert changed.software_changes == []  # same code and environment: the plant did it
    assert verdicts[(KEY, "images_per_s")].verdict == "new" or verdicts[
        (KEY, "images_per_s")].verdict == "insufficient_history"  # the speed verdict stands
    assert second.regressions == []  # outputs are judged beside speed, not as speed
    row = repository.run_result(engine, second.run_pk, KEY)
    assert row.parity_ok is False and row.parity_max_abs_diff > 0.1
    assert row.golden_max_abs_diff > 0.1 and row.golden_mask_mismatch > 0
    assert any("planted test output change" in w for w in row.warnings)
    # tonight's outputs were kept as a candidate for `segbench golden accept`
    states = sorted(g.state for g in golden.listing(engine, include_all=True))
    assert states == ["candidate", "golden"]
    assert "outputs_changed" in second.text and "outputs_differ" in second.text


def test_a_bf16_channels_last_case_is_held_to_the_same_fp32_eager_reference(
        tiny_inputs, weights_file):
    import torch

    from segtasks.measure.data import load_images
    from segtasks.measure.model import load_model
    from segtasks.measure.outputs import check_outputs
    from segtasks.measure.parity_set import parity_set
    from segtasks.parity.outputs import decode
    from segtasks.plan.case import Case

    images = parity_set(load_images(tiny_inputs))
    model = load_model(weights_file, "cpu")
    eager, eager_ref = check_outputs(model, images, Case(device="cpu"), "cpu: test")
    fast_model = load_model(weights_file, "cpu").to(memory_format=torch.channels_last)
    fast, fast_ref = check_outputs(fast_model, images,
                                   Case(device="cpu", precision="bf16", channels_last=True),
                                   "cpu: test")
    # one reference, whatever the case's configuration: fp32, contiguous, no autocast
    assert fast.reference_checksum == eager.reference_checksum == eager_ref["checksum"]
    assert fast_ref["checksum"] == eager_ref["checksum"]
    assert eager.parity_max_abs_diff == 0.0 and eager.parity_iou == 1.0
    assert 0 < fast.parity_max_abs_diff < 1  # bf16 rounds: close, not equal
    assert fast.parity_images == len(images.names) == 3
    reference = decode(fast_ref)
    assert reference is not None and reference.probs.shape == (3, 256, 256)
    assert [m.shape for m in reference.masks] == [(96, 96)] * 3  # each image's own size


def test_only_a_case_that_computes_what_the_reference_computes_reuses_its_own_outputs(
        monkeypatch):
    from segtasks.measure import planted
    from segtasks.measure.outputs import is_the_reference
    from segtasks.plan.case import Case

    model, wrapped = object(), object()
    assert is_the_reference(Case(device="cpu"), model, None)
    assert is_the_reference(Case(device="cuda"), model, model)
    for case in (Case(device="cpu", precision="bf16"), Case(device="cuda", precision="tf32"),
                 Case(device="cpu", channels_last=True), Case(device="cpu", compile="default")):
        assert not is_the_reference(case, model, None), case.key
    assert not is_the_reference(Case(device="cpu"), wrapped, model)  # e.g. compiled
    monkeypatch.setenv(planted.CASE_OUTPUT_SHIFT_VARIABLE, "0.5")
    assert not is_the_reference(Case(device="cpu"), model, None)
