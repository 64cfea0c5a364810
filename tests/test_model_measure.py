"""A model other than the mission's, measured for real in this process: its channels,
classes and input size reach the transform, the forward pass, the masks, the FLOP count and
the output check; its weights are checked against the spec's sha256."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segtasks.domain.model_spec import ModelSpec
from segtasks.measure.case_runner import run_case
from segtasks.measure.data import make_synthetic
from segtasks.measure.model import (
    WeightsError,
    file_sha256,
    load_model,
    make_weights,
    postprocess,
    preprocess,
)
from segtasks.parity.outputs import Outputs
from segtasks.plan.case import Case

pytestmark = pytest.mark.slow

SMALL = {"architecture": "Unet", "encoder": "resnet18", "in_channels": 3, "classes": 2,
         "input_size": [64, 64]}


def _case(model: dict) -> Case:
    return Case(device="cpu", batch_size=2, seed_images=2, warmup_batches=1,
                warmup_seconds=0, min_batches=6, min_seconds=0.01, max_seconds=0.5,
                end_to_end_seconds=0, end_to_end_passes=1, model=model)


@pytest.fixture(scope="module")
def small_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # random init: realistic for timing, meaningless for accuracy
    return make_weights(tmp_path_factory.mktemp("small") / "unet18.pt", seed=0,
                        spec=ModelSpec.from_dict(SMALL))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    make_synthetic(folder, count=5, size=80, seed=2)
    return folder


def test_a_small_unet_of_three_channels_and_two_classes_is_measured(inputs, small_weights,
                                                                     tmp_path):
    spec = ModelSpec.from_dict({**SMALL, "weights": str(small_weights)})
    case = _case(spec.to_dict())
    # the night's default weights file does not exist: the spec's own is used
    result = run_case(case, inputs, tmp_path / "no-default-weights.pt")
    assert result.status == "ok", result.reason
    sha = file_sha256(small_weights)
    assert result.weights_sha256 == sha
    assert result.model_identity == spec.identity(sha) != spec.identity()
    assert result.model_description == "Unet(resnet18, in=3, classes=2) at 64x64"
    assert result.throughput.gflop_per_image > 0
    outputs = result.outputs
    assert outputs is not None and outputs.parity_images == 4
    assert outputs.parity_max_abs_diff == 0.0  # fp32 eager: the case is its own reference
    assert outputs.truth_iou is None  # the truth is one foreground; this model has 2 classes
    assert Case.from_dict(result.to_dict()["case"]).key == case.key


def test_weights_of_another_sha256_are_refused_naming_both(inputs, small_weights):
    spec = ModelSpec.from_dict({**SMALL, "weights_sha256": "0" * 64})
    with pytest.raises(WeightsError) as err:
        load_model(small_weights, "cpu", spec)
    message = str(err.value)
    assert file_sha256(small_weights) in message and "0" * 64 in message
    result = run_case(_case({**spec.to_dict(), "weights": str(small_weights)}), inputs,
                      small_weights)
    assert result.status == "error" and "0" * 64 in result.reason


def test_weights_of_another_model_name_the_spec(small_weights):
    with pytest.raises(WeightsError, match=r"does not fit UnetPlusPlus\(resnet34"):
        load_model(small_weights, "cpu")


def test_a_factory_that_returns_no_module_ends_its_case_in_error(inputs, small_weights):
    case = _case({"factory": "model_factories:not_a_module", "in_channels": 3,
                  "classes": 2, "input_size": [32, 32], "weights": str(small_weights)})
    result = run_case(case, inputs, small_weights)
    assert result.status == "error"
    assert result.reason == ("factory model_factories:not_a_module returned str, not a "
                             "torch.nn.Module")


def test_a_factorys_model_is_measured(inputs, tmp_path):
    spec = ModelSpec.from_dict({"factory": "model_factories:tiny", "in_channels": 3,
                                "classes": 2, "input_size": [32, 32]})
    weights = make_weights(tmp_path / "tiny.pt", spec=spec)
    result = run_case(_case({**spec.to_dict(), "weights": str(weights)}), inputs, weights)
    assert result.status == "ok", result.reason
    assert result.model_description == "model_factories:tiny(in=3, classes=2) at 32x32"


def test_masks_are_one_per_class_at_each_images_size():
    import torch

    spec = ModelSpec.from_dict(SMALL)
    images = [np.zeros((40, 50, 3), np.uint8), np.zeros((30, 20, 3), np.uint8)]
    batch = preprocess(images, spec)
    assert tuple(batch.shape) == (2, 3, 64, 64)
    logits = torch.stack([torch.full((2, 64, 64), 5.0), torch.full((2, 64, 64), -5.0)])
    masks = postprocess(logits, [(40, 50), (30, 20)], classes=2)
    assert masks[0].shape == (2, 40, 50) and masks[0].all()
    assert masks[1].shape == (2, 30, 20) and not masks[1].any()
    gray = preprocess([np.zeros((40, 50), np.uint8)],
                      ModelSpec.from_dict({**SMALL, "in_channels": 2}))
    assert tuple(gray.shape) == (1, 2, 64, 64)  # grayscale repeated into every channel


def test_outputs_of_several_classes_keep_their_shape_through_npz():
    masks = (np.ones((2, 3, 4), bool), np.zeros((2, 5, 6), bool))
    outputs = Outputs(("a", "b"), np.zeros((2, 2, 8, 8), np.float32), masks)
    back = Outputs.from_npz(outputs.to_npz())
    assert [m.shape for m in back.masks] == [(2, 3, 4), (2, 5, 6)]
    assert back.checksum() == outputs.checksum()
