"""BoundingBoxes2D: one group of boxes with class labels, checked when built, usable inside an
Image or logged alone, and rebuilt by from_json."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.media_logging import log_and_read_back

import weightslab_nb as wl
from weightslab_nb.tracking.media import BoundingBoxes2D, Image, LoggedImage, decode_value

BOX = {"minX": 0.1, "maxX": 0.4, "minY": 0.2, "maxY": 0.5}
VAL = {"box_data": [{"position": BOX, "class_id": 1, "box_caption": "cat",
                     "scores": {"conf": np.float32(0.75)}},
                    {"position": {"middle": [8, 6], "width": 4, "height": 2}, "class_id": 2,
                     "domain": "pixel"}],
       "class_labels": {1: "cat", np.int64(2): "dog"}}


def test_boxes_are_checked_and_keep_their_group_and_labels():
    boxes = BoundingBoxes2D(VAL, "predictions")
    assert boxes.key == "predictions"
    assert boxes.class_labels == {1: "cat", 2: "dog"}
    assert boxes.box_data[0]["scores"] == {"conf": 0.75}
    assert boxes.box_data[1]["position"] == {"middle": [8.0, 6.0], "width": 4.0, "height": 2.0}
    assert boxes.val["class_labels"] == {"1": "cat", "2": "dog"}
    assert "predictions" in repr(boxes)


def test_missing_labels_default_to_class_ids():
    boxes = BoundingBoxes2D({"box_data": [{"position": BOX, "class_id": 7}]}, "truth")
    assert boxes.class_labels == {7: "class_7"}


@pytest.mark.parametrize("val, key, error, words", [
    ([], "g", ValueError, r"val: expected a dict with 'box_data'"),
    ({"box_data": []}, "", TypeError, "key"),
    ({"box_data": []}, 3, TypeError, "key"),
    ({"box_data": {}}, "g", TypeError, r"val\['box_data'\]"),
    ({"box_data": [], "colour": 1}, "g", ValueError, "colour"),
    ({"box_data": [{"position": BOX}]}, "g", ValueError, "class_id"),
    ({"box_data": [{"position": BOX, "class_id": 1.5}]}, "g", TypeError, "class_id"),
    ({"box_data": [{"position": {**BOX, "minY": 0.9}, "class_id": 1}]}, "g", ValueError,
     r"val\['box_data'\]\[0\]\['position'\]: expected minX <= maxX and minY <= maxY"),
    ({"box_data": [{"position": {**BOX, "maxX": float("inf")}, "class_id": 1}]}, "g",
     ValueError, "finite"),
    ({"box_data": [{"position": {"middle": [1, 1], "width": 1, "height": -2},
                    "class_id": 1}]}, "g", ValueError, "width and height must be >= 0"),
    ({"box_data": [{"position": BOX, "class_id": 1, "domain": "percent"}]}, "g", ValueError,
     r"\['domain'\]: expected 'pixel'"),
    ({"box_data": [{"position": BOX, "class_id": 3}], "class_labels": {1: "cat"}}, "g",
     ValueError, r"\['class_id'\]: 3 has no label in class_labels"),
    ({"box_data": [], "class_labels": {1: 2}}, "g", TypeError, "class_labels"),
])
def test_bad_boxes_are_rejected_naming_the_argument_and_the_part(val, key, error, words):
    with pytest.raises(error, match=words):
        BoundingBoxes2D(val, key)


def test_boxes_logged_alone_are_stored_as_json_and_read_back(session):
    boxes = BoundingBoxes2D(VAL, "predictions")
    run_dir, descriptor, back = log_and_read_back(session, "det/boxes", boxes)
    assert descriptor["_type"] == "boxes2D-file" and descriptor["key"] == "predictions"
    assert descriptor["path"].startswith("media/boxes2D/det_boxes_0_")
    assert descriptor["path"].endswith(".boxes2D.json")
    stored = json.loads((run_dir / descriptor["path"]).read_text())
    assert stored["class_labels"] == {"1": "cat", "2": "dog"} and len(stored["box_data"]) == 2
    assert back == boxes and back.class_labels == {1: "cat", 2: "dog"}
    assert BoundingBoxes2D.from_json(descriptor, run_dir) == boxes


def test_equality_follows_the_content():
    assert BoundingBoxes2D(VAL, "a") == BoundingBoxes2D(VAL, "a")
    assert BoundingBoxes2D(VAL, "a") != BoundingBoxes2D(VAL, "b")
    assert BoundingBoxes2D(VAL, "a") != BoundingBoxes2D({"box_data": []}, "a")


def test_images_take_boxes_objects_and_dicts_alike(tmp_path):
    pixels = np.zeros((12, 16, 3), np.uint8)
    as_object = Image(pixels, boxes={"predictions": BoundingBoxes2D(VAL, "predictions")})
    as_dict = Image(pixels, boxes={"predictions": VAL})
    assert as_object == as_dict
    assert as_object.box_groups()["predictions"] == BoundingBoxes2D(VAL, "predictions")
    descriptor = as_object.to_json(tmp_path, "img", 0)
    assert descriptor["boxes"]["predictions"]["class_labels"] == {"1": "cat", "2": "dog"}
    assert isinstance(decode_value(descriptor, tmp_path), LoggedImage)
    rebuilt = Image.from_json(descriptor, tmp_path)
    assert rebuilt == as_object and rebuilt.boxes == as_object.boxes


def test_errors_inside_an_image_name_the_boxes_group():
    with pytest.raises(ValueError, match=r"boxes\['g'\]\['box_data'\]\[0\]"):
        Image(np.zeros((4, 4), np.uint8), boxes={"g": {"box_data": [{"position": BOX}]}})


def test_the_package_exports_the_class():
    assert wl.BoundingBoxes2D is BoundingBoxes2D
