"""`segbench data` and `segbench train-demo` follow a model spec: images of its input
channels at its input size, a mask per class, and its own network trained with a sigmoid
BCE + dice loss per class, written where the spec says. Without a spec, both do what they
always did. Tiny sizes and one or two steps: CI stays fast on a CPU."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segtasks.cli import main
from segtasks.domain.model_spec import ModelSpec
from segtasks.measure import provenance
from segtasks.measure.data import (
    DataError,
    load_class_masks,
    load_images,
    load_masks,
    make_synthetic,
)
from segtasks.measure.model import file_sha256, load_model
from segtasks.measure.train import _loss, train_demo
from segtasks.measure.train_settings import TrainSettings

# a U-Net small enough to train a step in well under a second on a CPU
SMALL = {"architecture": "Unet", "encoder": "resnet18", "encoder_depth": 3,
         "decoder_channels": [16, 8, 4], "in_channels": 3, "classes": 2,
         "input_size": [32, 48], "weights": "weights/small.pt"}
TINY = SMALL | {"classes": 3, "input_size": [40, 56]}


def test_a_spec_gets_colour_images_at_its_size_and_a_differently_shaped_mask_per_class(
        tmp_path):
    spec = ModelSpec.from_dict(TINY)
    make_synthetic(tmp_path / "a", count=3, size=spec.input_size, seed=1,
                   channels=spec.in_channels, classes=spec.classes)
    make_synthetic(tmp_path / "b", count=3, size=spec.input_size, seed=1,
                   channels=spec.in_channels, classes=spec.classes)
    images = load_images(tmp_path / "a", channels=3)
    assert [im.shape for im in images.images] == [(40, 56, 3)] * 3
    # colour, not grey written three times: the channels differ where a class lies
    assert any(not np.array_equal(im[..., 0], im[..., 1]) for im in images.images)
    assert images.fingerprint == load_images(tmp_path / "b", channels=3).fingerprint
    masks = load_class_masks(images, spec.classes)
    assert all(m is not None and m.shape == (3, 40, 56) for m in masks)
    stacked = np.stack(masks)  # (images, classes, H, W)
    assert all(stacked[:, k].any() for k in range(spec.classes))  # every class drawn
    assert not np.array_equal(stacked[:, 0], stacked[:, 1])
    # the 1-class loader finds no mask of its own there: the layouts never mix
    assert load_masks(images) == [None] * 3


def test_a_mask_missing_for_one_class_leaves_its_image_without_truth(tmp_path):
    make_synthetic(tmp_path, count=2, size=16, channels=1, classes=2)
    (tmp_path / "masks" / "class_1" / "img_0001.png").unlink()
    masks = load_class_masks(load_images(tmp_path), 2)
    assert masks[0] is not None and masks[1] is None


def test_data_command_follows_the_spec_and_keeps_the_default(tmp_path, capsys):
    assert main(["data", "--dest", str(tmp_path / "spec"), "--count", "2",
                 "--model", json.dumps(SMALL)]) == 0
    assert "(32x48, RGB, 2 classes)" in capsys.readouterr().out
    found = load_images(tmp_path / "spec", channels=3)
    assert found.images[0].shape == (32, 48, 3)
    assert sorted(p.name for p in (tmp_path / "spec" / "masks").iterdir()) == [
        "class_0", "class_1"]
    assert main(["data", "--dest", str(tmp_path / "default"), "--count", "1"]) == 0
    assert "(512x512)" in capsys.readouterr().out
    default = load_images(tmp_path / "default")
    assert default.images[0].shape == (512, 512) and load_masks(default)[0] is not None
    # the default set is the one it always was: the same call without a spec
    make_synthetic(tmp_path / "again", count=1)
    assert load_images(tmp_path / "again").fingerprint == default.fingerprint


def test_a_bad_spec_is_refused_on_one_line_before_anything_is_written(tmp_path, capsys):
    bad = json.dumps({k: v for k, v in SMALL.items() if k != "classes"})
    assert main(["data", "--dest", str(tmp_path / "d"), "--model", bad]) == 2
    assert capsys.readouterr().err == "segbench: error: --model: classes is required\n"
    assert not (tmp_path / "d").exists()


def test_the_loss_of_one_class_is_the_one_it_always_was():
    import torch

    torch.manual_seed(0)
    logits = torch.randn(3, 1, 8, 8)
    target = (torch.rand(3, 1, 8, 8) > 0.5).float()
    probs = torch.sigmoid(logits)
    inter = (probs * target).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (probs.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    before = torch.nn.functional.binary_cross_entropy_with_logits(logits, target) + dice.mean()
    assert torch.allclose(_loss(logits, target, 1.0), before)
    # several classes: each its own loss (its own dice: a class of few pixels counts as
    # much as a large one), averaged
    other_logits, other_target = torch.randn(3, 1, 8, 8), torch.zeros(3, 1, 8, 8)
    other_target[:, :, 0, 0] = 1
    both = _loss(torch.cat([logits, other_logits], 1), torch.cat([target, other_target], 1),
                 1.0)
    apart = (_loss(logits, target, 1.0) + _loss(other_logits, other_target, 1.0)) / 2
    assert torch.allclose(both, apart)


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory):
    spec = ModelSpec.from_dict(SMALL)
    folder = tmp_path_factory.mktemp("small-inputs")
    make_synthetic(folder, count=5, size=spec.input_size, seed=4,
                   channels=spec.in_channels, classes=spec.classes)
    return folder


@pytest.mark.slow
def test_train_demo_trains_the_specs_model_on_its_classes(small_inputs, tmp_path):
    spec = ModelSpec.from_dict(SMALL)
    dest = tmp_path / "small.pt"
    settings = TrainSettings(seed=1, max_steps=2, holdout=2, eval_every=2, threads=2)
    record = train_demo(small_inputs, dest, settings, spec=spec)
    assert record["steps"] == 2 and record["final_loss"] > 0
    assert (record["train_images"], record["held_out_images"]) == (3, 2)
    assert 0.0 <= record["held_out_iou"] <= 1.0
    assert 0.0 <= record["held_out_iou_full_size"] <= 1.0
    assert record["model"] == spec.to_dict()
    assert record["model_identity"] == spec.identity(file_sha256(dest))
    model = load_model(dest, "cpu", spec)  # the benchmark's loader takes them for the spec
    assert model(torch_input(spec)).shape == (1, 2, 32, 48)


def torch_input(spec: ModelSpec):
    import torch

    return torch.zeros(1, spec.in_channels, *spec.input_size)


@pytest.mark.slow
def test_train_demo_needs_a_mask_of_each_class(tmp_path):
    make_synthetic(tmp_path, count=4, size=32, seed=0)  # the default's 1-class set
    with pytest.raises(DataError, match=r"a mask of each of 2 classes .*--model JSON"):
        train_demo(tmp_path, tmp_path / "w.pt", TrainSettings(max_steps=1, holdout=2),
                   spec=ModelSpec.from_dict(SMALL))


def test_a_factory_that_gives_other_classes_than_its_spec_fails_on_one_line(tmp_path):
    from segtasks.measure.model import ModelError

    # model_factories:tiny gives 2 classes; this spec says 3
    spec = ModelSpec.from_dict({"factory": "model_factories:tiny", "in_channels": 3,
                                "classes": 3, "input_size": [32, 48]})
    make_synthetic(tmp_path, count=4, size=spec.input_size, channels=3, classes=3)
    with pytest.raises(ModelError, match=r"outputs of shape \(2, 32, 48\) for the spec's "
                                         r"\(3, 32, 48\)"):
        train_demo(tmp_path, tmp_path / "w.pt", TrainSettings(max_steps=1, holdout=2),
                   spec=spec)


@pytest.mark.slow
def test_train_demo_command_writes_the_specs_weights_and_keeps_another_models(
        small_inputs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEGBENCH_HOME", str(tmp_path))
    args = ["train-demo", "--inputs", str(small_inputs), "--model", json.dumps(SMALL),
            "--max-steps", "1", "--holdout", "2", "--eval-every", "1", "--threads", "2"]
    assert main(args) == 0
    dest = tmp_path / "weights" / "small.pt"  # the spec's "weights", under SEGBENCH_HOME
    assert provenance.origin(dest, file_sha256(dest)) == provenance.TRAINED
    assert "training Unet(resnet18" in capsys.readouterr().out
    assert main(args) == 0
    assert "reusing" in capsys.readouterr().out
    # the same file named by another model's spec is not taken for its weights
    other = json.dumps(SMALL | {"decoder_channels": [8, 8, 4]})
    before = dest.read_bytes()
    assert main([*args[:4], other, *args[5:]]) == 0
    assert "trained weights of another model (Unet(resnet18" in capsys.readouterr().out
    assert dest.read_bytes() == before
