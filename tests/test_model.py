import numpy as np
import pytest
import torch

from segtasks.measure.model import (
    INPUT_SIZE,
    WeightsError,
    build_model,
    load_model,
    postprocess,
    preprocess,
)


def test_preprocess_resizes_every_image_to_one_grayscale_batch():
    images = [np.full((100, 60), 255, np.uint8), np.zeros((300, 500), np.uint8)]
    batch = preprocess(images)
    assert batch.shape == (2, 1, *INPUT_SIZE) and batch.dtype == torch.float32
    # ToTensor scales uint8 to [0, 1]
    assert batch[0].min() == pytest.approx(1.0) and batch[1].max() == 0.0


@pytest.mark.slow
def test_model_maps_a_batch_to_one_logit_map_per_image():
    model = build_model().eval()
    with torch.inference_mode():
        out = model(torch.rand(2, 1, *INPUT_SIZE))
    assert out.shape == (2, 1, *INPUT_SIZE)


def test_postprocess_thresholds_the_sigmoid_at_half_and_restores_each_size():
    logits = torch.full((2, 1, 4, 4), -3.0)
    logits[0, 0, :2, :] = 0.0  # sigmoid(0) == 0.5 counts as foreground (>= 0.5)
    logits[1, 0, :, 2:] = -0.01  # just below 0.5 stays background
    masks = postprocess(logits, [(8, 6), (2, 2)])
    assert [m.shape for m in masks] == [(8, 6), (2, 2)]
    assert all(m.dtype == np.bool_ for m in masks)
    assert masks[0][:4].all() and not masks[0][4:].any()  # nearest resize keeps the top half
    assert not masks[1].any()


def test_weights_for_another_architecture_name_the_file_and_the_keys(tmp_path):
    state = build_model().state_dict()
    state.pop("segmentation_head.0.bias")
    state["extra.weight"] = torch.zeros(1)
    key = "encoder.conv1.weight"
    state[key] = torch.zeros(64, 3, 7, 7)  # an RGB encoder: 3 input channels, not 1
    path = tmp_path / "rgb.pt"
    torch.save(state, path)
    with pytest.raises(WeightsError) as err:
        load_model(path, "cpu")
    message = str(err.value)
    assert str(path) in message
    assert "1 missing keys: segmentation_head.0.bias" in message
    assert "1 unexpected keys: extra.weight" in message
    assert f"{key} (file (64, 3, 7, 7) vs model (64, 1, 7, 7))" in message


def test_missing_corrupt_and_pickled_weights_are_clear_errors(tmp_path):
    with pytest.raises(WeightsError, match="not found: run `segbench weights`"):
        load_model(tmp_path / "none.pt", "cpu")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"garbage")
    with pytest.raises(WeightsError, match="cannot be read as a state dict"):
        load_model(corrupt, "cpu")
    pickled = tmp_path / "object.pt"
    torch.save(build_model(), pickled)  # a whole pickled module: refused by weights_only
    with pytest.raises(WeightsError, match=str(pickled)):
        load_model(pickled, "cpu")


def test_an_empty_weights_file_says_it_is_empty(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(WeightsError) as err:
        load_model(empty, "cpu")
    assert str(err.value) == (f"weights file {empty} is empty (0 bytes): run `segbench "
                              "weights`, or drop a trained state dict there (see "
                              "weights/README.md)")


def test_a_file_that_is_not_a_state_dict_says_why_without_torchs_unsafe_advice(tmp_path):
    import argparse

    pickled = tmp_path / "object.pt"
    torch.save({"args": argparse.Namespace(lr=0.1)}, pickled)
    text_file = tmp_path / "text.pt"
    text_file.write_text("hello")
    with pytest.raises(WeightsError) as err:
        load_model(pickled, "cpu")
    message = str(err.value)
    assert message == (f"weights file {pickled} cannot be read as a state dict: it holds a "
                       "Python object (argparse.Namespace), not only tensors; segbench loads "
                       "plain state dicts only")
    with pytest.raises(WeightsError) as err:
        load_model(text_file, "cpu")
    assert str(err.value).startswith(f"weights file {text_file} cannot be read as a state "
                                     "dict: not a PyTorch file, or cut short (")
    for error in (message, str(err.value)):
        assert "weights_only" not in error and "\n" not in error


@pytest.mark.slow
def test_wrapped_checkpoints_load_to_the_same_weights(tmp_path, weights_file):
    state = torch.load(weights_file, weights_only=True)
    wrapped = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}, wrapped)
    model = load_model(wrapped, "cpu")
    assert not model.training
    assert torch.equal(model.state_dict()["encoder.conv1.weight"], state["encoder.conv1.weight"])
