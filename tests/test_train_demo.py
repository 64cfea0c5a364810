"""The demo model's training (tiny, so CI stays fast) and the record written beside weights."""

from __future__ import annotations

import io
import json
import re

import pytest

from segtasks.measure import provenance
from segtasks.measure.data import make_synthetic
from segtasks.measure.model import file_sha256, load_model, make_weights
from segtasks.measure.train import train_demo
from segtasks.measure.train_progress import TrainingProgress
from segtasks.measure.train_settings import TrainSettings


@pytest.fixture(scope="module")
def masked_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train-inputs")
    make_synthetic(folder, count=6, size=64, seed=3)
    return folder


# Training steps at 256x256 cost seconds each on a 2-core machine: each test trains one step.


@pytest.mark.slow
def test_train_demo_writes_loadable_weights_and_a_record_of_how_they_were_made(
        masked_inputs, tmp_path):
    dest = tmp_path / "weights_001.pt"
    settings = TrainSettings(seed=7, max_steps=1, holdout=2, eval_every=1, threads=2)
    record = train_demo(masked_inputs, dest, settings)

    on_disk = json.loads(provenance.record_path(dest).read_text())
    assert on_disk == json.loads(json.dumps(record))
    assert record["origin"] == "trained-demo" and record["sha256"] == file_sha256(dest)
    assert record["steps"] == 1 and record["stopped_because"] == "max_steps"
    assert (record["train_images"], record["held_out_images"]) == (4, 2)
    assert record["held_out_names"] == ["img_0004.png", "img_0005.png"]
    assert 0.0 <= record["held_out_iou"] <= 1.0 and record["final_loss"] > 0
    assert 0.0 <= record["held_out_iou_full_size"] <= 1.0
    assert record["settings"]["seed"] == 7 and record["settings"]["batch_size"] == 4
    import torch

    assert record["torch_version"] == torch.__version__
    assert len(record["dataset_fingerprint"]) == 16 and record["duration_s"] > 0
    assert provenance.origin(dest, file_sha256(dest)) == provenance.TRAINED
    load_model(dest, "cpu")  # the benchmark's own safe loader takes them


@pytest.mark.slow
def test_train_demo_reports_each_step_and_evaluation_to_its_progress(masked_inputs, tmp_path):
    out = io.StringIO()
    # every=0: a line after every step, so that two steps show what a long training prints
    progress = TrainingProgress(2, out=out, every=0.0, bar=False)
    settings = TrainSettings(seed=7, max_steps=2, holdout=2, eval_every=2, threads=2)
    record = train_demo(masked_inputs, tmp_path / "w.pt", settings, progress=progress)

    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["step 1/2", "step 2/2", "step 2/2"]
    assert re.fullmatch(r"step 1/2: loss \d\.\d{4}, \d+ s elapsed", lines[0])
    assert lines[2].startswith(f"step 2/2: loss {record['final_loss']:.4f}, held-out IoU "
                               f"{record['held_out_iou']:.4f}, ")
    assert lines[2].endswith(f"pipeline {record['held_out_iou_full_size']:.4f}")


def test_training_needs_held_out_images_with_masks(tmp_path):
    from segtasks.measure.data import DataError

    make_synthetic(tmp_path / "few", count=2, size=32)
    with pytest.raises(DataError, match="more than 2 images with masks"):
        train_demo(tmp_path / "few", tmp_path / "w.pt", TrainSettings(holdout=2))
    with pytest.raises(ValueError, match="bad training setting: holdout=0"):
        TrainSettings(holdout=0)


def test_the_origin_of_weights_is_what_their_record_says_while_the_file_matches(tmp_path):
    weights = make_weights(tmp_path / "w.pt")
    assert provenance.origin(weights, file_sha256(weights)) == provenance.SEEDED
    weights.write_bytes(weights.read_bytes() + b"changed")  # someone else's file now
    assert provenance.origin(weights, file_sha256(weights)) == provenance.UNRECORDED
    provenance.record_path(weights).unlink()
    assert provenance.origin(weights, "anything") == provenance.UNRECORDED


@pytest.mark.slow
def test_train_demo_command_reuses_trained_weights_and_keeps_unrecorded_ones(
        masked_inputs, tmp_path, capsys):
    from segtasks.cli import main

    dest = tmp_path / "weights_001.pt"
    make_weights(dest)  # the seeded fallback is replaced by training
    # a target any model meets stops at the first evaluation, before the step cap
    args = ["train-demo", "--inputs", str(masked_inputs), "--dest", str(dest),
            "--max-steps", "50", "--holdout", "2", "--target-iou", "1e-9", "--eval-every", "1",
            "--threads", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 steps (target_iou)" in out
    assert re.search(r"^step 1/50: loss \d\.\d{4}, held-out IoU \d\.\d{4}, \d+ s elapsed, at full "
                     r"size through the pipeline \d\.\d{4}$", out, re.MULTILINE), out
    assert provenance.origin(dest, file_sha256(dest)) == provenance.TRAINED
    assert main(args) == 0
    assert "reusing" in capsys.readouterr().out
    provenance.record_path(dest).unlink()
    before = dest.read_bytes()
    assert main(args) == 0  # `make run` goes on with someone's own weights
    assert "keeping" in capsys.readouterr().out and dest.read_bytes() == before
