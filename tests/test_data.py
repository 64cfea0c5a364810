import hashlib

import cv2
import numpy as np
import pytest

from segtasks.measure.data import DataError, load_images, make_synthetic


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.png"))}


def test_synthetic_set_is_deterministic_grayscale_with_masks(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_synthetic(a, count=3, size=512, seed=7)
    make_synthetic(b, count=3, size=512, seed=7)
    assert _digest(a) == _digest(b)
    image = cv2.imread(str(a / "img_0000.png"), cv2.IMREAD_UNCHANGED)
    mask = cv2.imread(str(a / "masks" / "img_0000.png"), cv2.IMREAD_UNCHANGED)
    assert image.shape == mask.shape == (512, 512) and image.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}
    # the blobs really are brighter than the background: the mask is the ground truth
    assert image[mask > 0].mean() > image[mask == 0].mean() + 50
    make_synthetic(b, count=3, size=512, seed=8)
    assert _digest(a) != _digest(b)


def test_bad_files_are_reported_by_name_and_left_out(tmp_path, caplog):
    make_synthetic(tmp_path, count=2, size=32)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG this is not an image")
    (tmp_path / "notes.txt").write_text("hello")
    loaded = load_images(tmp_path)
    assert loaded.names == ["img_0000.png", "img_0001.png"]
    assert dict(loaded.skipped) == {
        "corrupt.png": "cannot be decoded (corrupt or unsupported format)",
        "empty.png": "empty file",
        "notes.txt": "not an image file",
    }
    assert "left out 3 of 5 files" in caplog.text
    assert "corrupt.png" in caplog.text


def test_fingerprint_follows_content(tmp_path):
    make_synthetic(tmp_path, count=2, size=32)
    before = load_images(tmp_path).fingerprint
    cv2.imwrite(str(tmp_path / "img_0001.png"), np.zeros((32, 32), np.uint8))
    assert load_images(tmp_path).fingerprint != before


def test_folder_without_any_readable_image_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no readable image"):
        load_images(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"nope")
    with pytest.raises(DataError, match=r"1 files skipped: broken.jpg"):
        load_images(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_images(tmp_path / "missing")


def test_skipped_files_are_named_in_the_stored_warning_first_ten_then_a_count(tmp_path):
    from segtasks.measure.case_runner import _skipped_inputs

    make_synthetic(tmp_path, count=1, size=32)
    for i in range(12):
        (tmp_path / f"bad_{i:02d}.png").write_bytes(b"")
    (warning,) = _skipped_inputs(load_images(tmp_path))
    named = ", ".join(f"bad_{i:02d}.png (empty file)" for i in range(10))
    assert warning == (f"12 unreadable input files left out of {tmp_path}: {named}, "
                       "and 2 more")


@pytest.mark.parametrize("size", [7, 4097])
def test_a_synthetic_size_out_of_bounds_is_refused_before_drawing(size, tmp_path):
    # 100000 asked numpy for 149 GiB and ended in a MemoryError traceback
    with pytest.raises(DataError, match=f"size from 8 to 4096, got count=1, size={size}"):
        make_synthetic(tmp_path, count=1, size=size)
    assert list(tmp_path.iterdir()) == []
