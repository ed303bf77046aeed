"""ImageMask: a segmentation mask with class labels, checked when built, usable inside an Image
or logged alone (a grey PNG of class ids), and rebuilt by from_json."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import weightslab_nb as wl
from tests.media_logging import log_and_read_back
from weightslab_nb.tracking.media import Image, ImageMask, LoggedMask

IDS = np.random.default_rng(0).integers(0, 3, (6, 8))
LABELS = {0: "background", 1: "road", 2: "car"}


def test_a_mask_keeps_its_ids_group_size_and_labels():
    mask = ImageMask({"mask_data": IDS, "class_labels": LABELS}, "truth")
    assert (mask.key, mask.height, mask.width) == ("truth", 6, 8)
    assert mask.class_labels == LABELS
    np.testing.assert_array_equal(mask.to_numpy(), IDS)
    assert "truth" in repr(mask)


def test_tensors_bools_whole_floats_and_png_files_are_accepted(tmp_path):
    assert ImageMask({"mask_data": torch.ones(2, 3, dtype=torch.int64)}, "a").class_labels == \
        {1: "class_1"}
    assert ImageMask({"mask_data": np.eye(3, dtype=bool)}, "b").class_labels == \
        {0: "class_0", 1: "class_1"}
    assert ImageMask({"mask_data": np.full((2, 2), 4.0)}, "c").class_labels == {4: "class_4"}
    PILImage.fromarray(IDS.astype(np.uint8)).save(tmp_path / "ids.png")
    from_file = ImageMask({"path": tmp_path / "ids.png", "class_labels": LABELS}, "d")
    np.testing.assert_array_equal(from_file.to_numpy(), IDS)


@pytest.mark.parametrize("val, key, error, words", [
    ({"class_labels": {}}, "g", ValueError, "'mask_data'"),
    ({"mask_data": IDS, "path": "x.png"}, "g", ValueError, "'mask_data'"),
    ({"mask_data": IDS}, None, TypeError, "key"),
    ({"mask_data": np.zeros((2, 2, 1))}, "g", ValueError, r"val\['mask_data'\]: .*2-D"),
    ({"mask_data": np.zeros((0, 2))}, "g", ValueError, "non-empty"),
    ({"mask_data": np.full((2, 2), 256)}, "g", ValueError, "0 to 255, got ids from 256 to 256"),
    ({"mask_data": np.full((2, 2), 0.5)}, "g", ValueError,
     r"not whole numbers \(e.g. 0.5\); argmax the scores first"),
    ({"mask_data": np.full((2, 2), 0.5)}, "g", ValueError, "integer"),
    ({"mask_data": IDS, "extra": 1}, "g", ValueError, "extra"),
    ({"mask_data": IDS, "class_labels": {"road": 1}}, "g", TypeError, "class_labels"),
    ({"path": "no/such/mask.png"}, "g", FileNotFoundError, "no such file"),
    ({"path": "mask.jpg"}, "g", ValueError, r"\.png"),
])
def test_bad_masks_are_rejected_naming_the_argument_and_the_part(val, key, error, words):
    with pytest.raises(error, match=words):
        ImageMask(val, key)


def test_a_mask_logged_alone_is_a_png_read_back_by_the_api(session):
    mask = ImageMask({"mask_data": IDS, "class_labels": LABELS}, "truth")
    run_dir, descriptor, back = log_and_read_back(session, "seg", mask)
    assert descriptor["_type"] == "mask-file" and descriptor["key"] == "truth"
    assert descriptor["path"].startswith("media/masks/seg_0_")
    assert descriptor["path"].endswith(".png")
    assert isinstance(back, LoggedMask) and back.class_labels == LABELS
    np.testing.assert_array_equal(back.to_numpy(), IDS)
    rebuilt = ImageMask.from_json(descriptor, run_dir)
    assert rebuilt == mask and rebuilt.key == "truth" and rebuilt.class_labels == LABELS


def test_equality_follows_pixels_labels_and_group():
    mask = ImageMask({"mask_data": IDS, "class_labels": LABELS}, "truth")
    assert mask == ImageMask({"mask_data": IDS.copy(), "class_labels": dict(LABELS)}, "truth")
    assert mask != ImageMask({"mask_data": IDS, "class_labels": LABELS}, "pred")
    assert mask != ImageMask({"mask_data": IDS}, "truth")
    assert mask != ImageMask({"mask_data": 2 - IDS, "class_labels": LABELS}, "truth")


def test_images_take_mask_objects_and_dicts_and_check_their_size(tmp_path):
    pixels = np.zeros((6, 8, 3), np.uint8)
    mask = ImageMask({"mask_data": IDS, "class_labels": LABELS}, "truth")
    as_object = Image(pixels, masks={"truth": mask})
    assert as_object == Image(pixels, masks={"truth": {"mask_data": IDS, "class_labels": LABELS}})
    assert as_object.masks == {"truth": LABELS}
    rebuilt = Image.from_json(as_object.to_json(tmp_path, "img", 3), tmp_path)
    assert rebuilt == as_object and rebuilt.mask_groups()["truth"] == mask
    with pytest.raises(ValueError, match=r"masks\['truth'\]\['mask_data'\]: .*shape \(4, 8\)"):
        Image(np.zeros((4, 8), np.uint8), masks={"truth": mask})


def test_the_package_exports_the_class():
    assert wl.ImageMask is ImageMask
