"""The base classes the wandb reference documents: every rich value is a WBValue; file media
are rebuilt by ``from_json`` from their descriptor and compare equal by content."""

from __future__ import annotations

import numpy as np
import pytest

import weightslab_nb as wl
from weightslab_nb.tracking.media import (Audio, BatchableMedia, Histogram, Html, Image,
                                          JSONMetadata, Media, Object3D, Table, Video, WBValue,
                                          is_media)

RGB = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)


def values():
    return [Histogram([1, 2, 2, 3], num_bins=3),
            Image(RGB, caption="x", classes={1: "cat"},
                  boxes={"p": {"box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0,
                                                          "maxY": 1}, "class_id": 1}]}},
                  masks={"m": {"mask_data": np.ones((4, 5), int)}}),
            Html("<p>hi</p>"), Audio(np.linspace(-1, 1, 80), sample_rate=8000, caption="a"),
            Video(np.zeros((2, 1, 4, 4), np.uint8), fps=3), Object3D(np.ones((3, 3))),
            JSONMetadata({"a": 1})]


@pytest.mark.parametrize("value", values(), ids=lambda v: type(v).__name__)
def test_from_json_rebuilds_an_equal_value(value, tmp_path):
    descriptor = value.to_json(tmp_path, "k", 1)
    rebuilt = type(value).from_json(descriptor, tmp_path)
    assert type(rebuilt) is type(value) and rebuilt == value
    assert rebuilt.to_json(tmp_path, "k", 1) == descriptor


def test_the_class_tree_follows_the_reference():
    assert issubclass(Media, WBValue) and issubclass(BatchableMedia, Media)
    for kind in (Image, Audio, Video, Object3D, Html):
        assert issubclass(kind, BatchableMedia)
    assert is_media(JSONMetadata({})) and is_media(Table())
    assert (wl.WBValue, wl.Media, wl.BatchableMedia) == (WBValue, Media, BatchableMedia)


def test_file_media_compare_by_content_and_class():
    assert Html("<p>a</p>") == Html("<p>a</p>") and Html("<p>a</p>") != Html("<p>b</p>")
    assert Image(RGB) == Image(RGB.copy()) and Image(RGB) != Image(RGB, caption="c")
    assert Image(RGB) != Image(RGB, masks={"m": {"mask_data": np.zeros((4, 5), int)}})
    assert Histogram([1, 2]) == Histogram([1, 2]) and Histogram([1, 2]) != Histogram([1, 3])
    assert Html("x") != JSONMetadata({"x": 1})
    table = Table()
    assert table == table and Table() != Table()  # tables compare by identity, as in wandb


@pytest.mark.parametrize("descriptor, words", [
    ({"_type": "html-file"}, "misses the field 'path'"),
    ({"_type": "image-file", "path": "x"}, "expects a dict with _type 'html-file'"),
    ([], "expects a dict"),
    ({"_type": "html-file", "path": "../outside.html"}, "inside the run folder"),
])
def test_from_json_rejects_malformed_descriptors(descriptor, words, tmp_path):
    with pytest.raises(ValueError, match=words):
        Html.from_json(descriptor, tmp_path)


def test_from_json_refuses_a_file_changed_since_it_was_logged(tmp_path):
    descriptor = Html("<p>a</p>").to_json(tmp_path, "k", 0)
    (tmp_path / descriptor["path"]).write_text("<p>b</p>")
    with pytest.raises(ValueError, match="changed since it was logged"):
        Html.from_json(descriptor, tmp_path)


def test_tables_are_read_with_decode_value_not_rebuilt(tmp_path):
    with pytest.raises(NotImplementedError, match="decode_value"):
        Table.from_json({"_type": Table._type, "path": "x"}, tmp_path)
