"""Rich values for ``wl.log``: each kind is checked when built, written under ``media/`` by
``to_json`` (content-addressed names, atomic writes) and read back by ``decode_value``."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image as PILImage
from PIL import ImageSequence

from weightslab_nb.tracking import media
from weightslab_nb.tracking.media import _files as media_storage
from weightslab_nb.tracking.media import (Audio, Histogram, Html, Image, LoggedFile,
                                          LoggedHistogram, LoggedImage, LoggedTable, Media,
                                          Object3D, Table, Video, decode_value, encode_value,
                                          is_media)
from weightslab_nb.tracking.media.audio import _wav_bytes
from weightslab_nb.tracking.media.video import _gif_bytes


def roundtrip(value, run_dir, key="value", step=0):
    descriptor = value.to_json(run_dir, key, step)
    json.dumps(descriptor, allow_nan=False)  # descriptors are plain JSON
    return descriptor, decode_value(descriptor, run_dir)


def media_files(run_dir: Path) -> list[Path]:
    return sorted(p for p in (run_dir / "media").rglob("*") if p.is_file())


def rgb(h=4, w=5, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def wav_samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as source:
        raw = source.readframes(source.getnframes())
        samples = np.frombuffer(raw, dtype="<i2").reshape(-1, source.getnchannels())
        return samples, source.getframerate()


# ---------------------------------------------------------------- module
def test_importing_the_module_does_not_import_torch_pil_pandas_or_matplotlib():
    code = ("import sys, weightslab_nb.tracking.media; "
            "assert not {'torch', 'PIL', 'pandas', 'matplotlib'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_kind_is_media_and_plain_values_are_not():
    values = [Histogram([1, 2]), Image(rgb()), Table(), Html("<p>x</p>"),
              Audio(np.zeros(4), sample_rate=8), Video(np.zeros((1, 1, 2, 2))),
              Object3D(np.zeros((1, 3)))]
    assert all(is_media(v) and isinstance(v, Media) for v in values)
    assert not any(is_media(v) for v in (1.0, "x", [Image(rgb())], np.zeros(3), {"a": 1}))
    with pytest.raises(NotImplementedError):
        Media().to_json(Path("."), "k", 0)


# ---------------------------------------------------------------- files
def test_file_name_is_the_safe_key_the_step_and_the_content_hash(tmp_path):
    descriptor = Image(rgb()).to_json(tmp_path, "val/img 1:ä", 7)
    data = (tmp_path / descriptor["path"]).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert descriptor["path"] == f"media/images/val_img_1___7_{digest[:8]}.png"
    assert (descriptor["sha256"], descriptor["size"]) == (digest, len(data))


def test_paths_in_descriptors_are_relative_with_forward_slashes(tmp_path):
    descriptor = Table(columns=["a"], data=[[1]]).to_json(str(tmp_path), "t", 0)
    assert descriptor["path"] == f"media/tables/t_0_{descriptor['sha256'][:8]}.table.json"
    assert not Path(descriptor["path"]).is_absolute()


def test_the_same_content_is_written_once_and_new_content_gets_a_new_file(tmp_path,
                                                                           monkeypatch):
    writes = []
    real_write = media_storage.write_atomic
    monkeypatch.setattr(media_storage, "write_atomic",
                        lambda target, payload: (writes.append(target),
                                                 real_write(target, payload)))
    first = Image(rgb(seed=1)).to_json(tmp_path, "img", 3)
    again = Image(rgb(seed=1)).to_json(tmp_path, "img", 3)
    other = Image(rgb(seed=2)).to_json(tmp_path, "img", 3)
    assert first == again and first["path"] != other["path"]
    assert len(writes) == 2 and len(media_files(tmp_path)) == 2


def test_a_file_with_the_right_name_but_other_bytes_is_rewritten(tmp_path):
    descriptor = Image(rgb()).to_json(tmp_path, "img", 0)
    target = tmp_path / descriptor["path"]
    target.write_bytes(b"corrupt")
    Image(rgb()).to_json(tmp_path, "img", 0)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == descriptor["sha256"]


def test_writes_leave_no_temporary_files_even_when_the_rename_fails(tmp_path, monkeypatch):
    Image(rgb()).to_json(tmp_path, "img", 0)
    Table(columns=["a"], data=[[1]]).to_json(tmp_path, "t", 0)
    assert not [p for p in media_files(tmp_path) if p.name.startswith(".")]

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        Image(rgb(seed=5)).to_json(tmp_path, "img", 1)
    assert not [p for p in media_files(tmp_path) if p.name.startswith(".")]
    assert not list((tmp_path / "media" / "images").glob("img_1_*"))


@pytest.mark.parametrize("key, step, error, word", [
    ("", 0, TypeError, "key"), (3, 0, TypeError, "key"), ("k", -1, ValueError, "step"),
    ("k", 1.5, TypeError, "step"), ("k", True, TypeError, "step")])
def test_key_and_step_are_checked(tmp_path, key, step, error, word):
    with pytest.raises(error, match=word):
        Image(rgb()).to_json(tmp_path, key, step)


# ---------------------------------------------------------------- histogram
def test_histogram_bins_a_sequence_dropping_nan_and_inf(tmp_path):
    values = np.array([0.0, 1.0, 1.5, 2.0, np.nan, np.inf, -np.inf, 4.0])
    histogram = Histogram(values, num_bins=4)
    counts, edges = np.histogram(values[np.isfinite(values)], bins=4)
    assert histogram.histogram == counts.tolist() and histogram.bins == edges.tolist()
    assert len(histogram.bins) == len(histogram.histogram) + 1 == 5
    descriptor, logged = roundtrip(histogram, tmp_path)
    assert descriptor == {"_type": "histogram", "bins": edges.tolist(),
                          "values": counts.tolist()}
    assert isinstance(logged, LoggedHistogram)
    assert list(logged.histogram) == counts.tolist() and list(logged.bins) == edges.tolist()
    assert not (tmp_path / "media").exists()


def test_histogram_accepts_tensors_numpy_histograms_and_empty_input():
    assert sum(Histogram(torch.arange(10.0)).histogram) == 10
    assert len(Histogram([1, 2, 3]).histogram) == 64
    counts, edges = np.histogram([1, 2, 2, 3], bins=3)
    histogram = Histogram(np_histogram=(counts, edges))
    assert histogram.histogram == [1, 2, 1] and histogram.bins == edges.tolist()
    empty = Histogram([np.nan], num_bins=2)
    assert empty.histogram == [0, 0] and empty.bins == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("kwargs, error, word", [
    ({}, ValueError, "sequence"),
    ({"sequence": [1], "np_histogram": ([1], [0, 1])}, ValueError, "np_histogram"),
    ({"sequence": [1], "num_bins": 0}, ValueError, "num_bins"),
    ({"sequence": [1], "num_bins": 513}, ValueError, "num_bins"),
    ({"sequence": [1], "num_bins": True}, TypeError, "num_bins"),
    ({"sequence": ["a", "b"]}, TypeError, "sequence"),
    ({"np_histogram": ([1, 2], [0, 1])}, ValueError, "np_histogram"),
    ({"np_histogram": ([1, -2], [0, 1, 2])}, ValueError, "np_histogram"),
    ({"np_histogram": ([1, 2], [0, 2, 1])}, ValueError, "np_histogram"),
    ({"np_histogram": [1, 2, 3]}, ValueError, "np_histogram")])
def test_histogram_arguments_are_checked(kwargs, error, word):
    with pytest.raises(error, match=word):
        Histogram(**kwargs)


# ---------------------------------------------------------------- image: pixels
@pytest.mark.parametrize("pixels", [
    rgb(), np.random.default_rng(1).integers(0, 256, (3, 4, 4), dtype=np.uint8),
    np.random.default_rng(2).integers(0, 256, (6, 2), dtype=np.uint8)])
def test_uint8_images_round_trip_exactly(tmp_path, pixels):
    descriptor, logged = roundtrip(Image(pixels, caption="c"), tmp_path)
    assert isinstance(logged, LoggedImage)
    assert (descriptor["_type"], descriptor["format"]) == ("image-file", "png")
    assert (logged.height, logged.width, logged.caption) == (*pixels.shape[:2], "c")
    np.testing.assert_array_equal(logged.to_numpy(), pixels)


def test_a_single_channel_last_axis_is_grey():
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    image = Image(pixels)
    assert (image.width, image.height) == (4, 3)


def test_float_pixels_in_0_1_are_scaled_and_others_clipped(tmp_path):
    unit = np.array([[0.0, 0.5], [1.0, 0.2]])
    np.testing.assert_array_equal(roundtrip(Image(unit), tmp_path, "a")[1].to_numpy(),
                                  [[0, 128], [255, 51]])
    wide = np.array([[-3.0, 2.0], [300.0, np.nan]])
    np.testing.assert_array_equal(roundtrip(Image(wide), tmp_path, "b")[1].to_numpy(),
                                  [[0, 2], [255, 0]])
    flags = np.array([[True, False]])
    np.testing.assert_array_equal(roundtrip(Image(flags), tmp_path, "c")[1].to_numpy(),
                                  [[255, 0]])


def test_tensors_whose_first_dim_is_1_3_or_4_are_channel_first(tmp_path):
    chw = torch.rand(3, 5, 6)
    logged = roundtrip(Image(chw), tmp_path, "a")[1]
    expected = np.rint(chw.permute(1, 2, 0).numpy().astype(np.float64) * 255)
    np.testing.assert_array_equal(logged.to_numpy(), expected.astype(np.uint8))
    assert (logged.width, logged.height) == (6, 5)
    square = torch.zeros(3, 4, 4, dtype=torch.uint8)
    assert (Image(square).width, Image(square).height) == (4, 4)  # C-first, not [3, 4, RGBA]
    grey = Image(torch.zeros(1, 7, 2))
    assert (grey.width, grey.height) == (2, 7)
    hwc = Image(torch.zeros(5, 6, 3, requires_grad=True))
    assert (hwc.width, hwc.height) == (6, 5)


def test_numpy_arrays_are_channel_last_unless_only_the_first_dim_is_a_channel_count():
    assert (Image(np.zeros((3, 5, 4))).width, Image(np.zeros((3, 5, 4))).height) == (5, 3)
    assert (Image(np.zeros((3, 8, 9))).width, Image(np.zeros((3, 8, 9))).height) == (9, 8)


def test_bfloat16_tensors_are_accepted():
    assert Image(torch.ones(2, 3, dtype=torch.bfloat16)).width == 3


@pytest.mark.parametrize("pixels, error", [
    (np.zeros((2, 3, 4, 3)), ValueError), (np.zeros((5, 6, 2)), ValueError),
    (np.zeros(5), ValueError), (np.zeros((0, 4)), ValueError),
    (np.zeros((2, 2), dtype=complex), TypeError), (object(), ValueError)])
def test_unusable_pixel_arrays_are_rejected_naming_the_argument(pixels, error):
    with pytest.raises(error, match="data_or_path"):
        Image(pixels)


def test_pil_images_and_modes(tmp_path):
    source = PILImage.fromarray(rgb())
    logged = roundtrip(Image(source), tmp_path, "a")[1]
    np.testing.assert_array_equal(logged.to_numpy(), rgb())
    grey = roundtrip(Image(rgb(), mode="L"), tmp_path, "b")[1]
    assert grey.image().mode == "L" and grey.to_numpy().shape == (4, 5)
    assert Image(PILImage.new("CMYK", (3, 2))).format == "png"
    with pytest.raises(ValueError, match="mode"):
        Image(rgb(), mode="NOPE")
    with pytest.raises(TypeError, match="mode"):
        Image(rgb(), mode=3)


def test_an_image_file_is_copied_byte_for_byte(tmp_path):
    path = tmp_path / "photo.jpeg"
    PILImage.fromarray(rgb(8, 6)).save(path, format="JPEG")
    descriptor, logged = roundtrip(Image(path), tmp_path / "run")
    assert descriptor["format"] == "jpg" and descriptor["path"].endswith(".jpg")
    assert logged.path.read_bytes() == path.read_bytes()
    assert (logged.width, logged.height) == (6, 8)
    assert Image(str(path), mode="RGB").format == "png"


def test_missing_or_unreadable_image_files_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_or_path"):
        Image(tmp_path / "absent.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match="data_or_path"):
        Image(tmp_path / "notes.png")


def test_the_image_is_a_snapshot_of_its_array(tmp_path):
    pixels = rgb()
    image = Image(pixels)
    pixels[:] = 0
    np.testing.assert_array_equal(roundtrip(image, tmp_path)[1].to_numpy(), rgb())


@pytest.mark.parametrize("caption, expected", [(None, None), ("cat", "cat"), (3, "3")])
def test_captions(caption, expected):
    assert Image(rgb(), caption=caption).caption == expected


def test_caption_of_another_type_is_rejected():
    with pytest.raises(TypeError, match="caption"):
        Image(rgb(), caption=["a"])


# ---------------------------------------------------------------- image: boxes, masks
def test_boxes_in_both_position_forms_round_trip(tmp_path):
    boxes = {"predictions": {
        "box_data": [
            {"position": {"minX": 0.1, "maxX": 0.4, "minY": 0.2, "maxY": 0.5}, "class_id": 1,
             "box_caption": "car", "scores": {"conf": np.float32(0.5)}},
            {"position": {"middle": [2, 3], "width": 4, "height": 1}, "class_id": 2,
             "domain": "pixel"}],
        "class_labels": {1: "car", 2: "road"}},
        "truth": {"box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1},
                                "class_id": 7}]}}
    descriptor, logged = roundtrip(Image(rgb(), boxes=boxes), tmp_path)
    assert descriptor["boxes"]["predictions"]["class_labels"] == {"1": "car", "2": "road"}
    predictions = logged.boxes["predictions"]
    assert predictions["class_labels"] == {1: "car", 2: "road"}
    assert predictions["box_data"][0] == {
        "position": {"minX": 0.1, "maxX": 0.4, "minY": 0.2, "maxY": 0.5}, "class_id": 1,
        "box_caption": "car", "scores": {"conf": 0.5}}
    assert predictions["box_data"][1] == {
        "position": {"middle": [2.0, 3.0], "width": 4.0, "height": 1.0}, "class_id": 2,
        "domain": "pixel"}
    assert logged.boxes["truth"]["class_labels"] == {7: "class_7"}


BOX = {"minX": 0.1, "maxX": 0.2, "minY": 0.1, "maxY": 0.2}


@pytest.mark.parametrize("boxes, error, words", [
    ([], TypeError, "boxes"),
    ({"g": []}, ValueError, r"boxes\['g'\]"),
    ({"g": {"box_data": {}}}, TypeError, "box_data"),
    ({"g": {"box_data": [], "extra": 1}}, ValueError, "extra"),
    ({"g": {"box_data": [{"position": BOX}]}}, ValueError, "class_id"),
    ({"g": {"box_data": [{"position": BOX, "class_id": "car"}]}}, TypeError, "class_id"),
    ({"g": {"box_data": [{"position": BOX, "class_id": 1, "colour": 1}]}}, ValueError, "colour"),
    ({"g": {"box_data": [{"position": {"minX": 0}, "class_id": 1}]}}, ValueError, "position"),
    ({"g": {"box_data": [{"position": {**BOX, "minX": 0.5}, "class_id": 1}]}}, ValueError,
     "minX <= maxX"),
    ({"g": {"box_data": [{"position": {**BOX, "maxY": float("nan")}, "class_id": 1}]}},
     ValueError, "maxY"),
    ({"g": {"box_data": [{"position": {"middle": [1], "width": 1, "height": 1},
                          "class_id": 1}]}}, ValueError, "middle"),
    ({"g": {"box_data": [{"position": {"middle": [1, 1], "width": -1, "height": 1},
                          "class_id": 1}]}}, ValueError, "width"),
    ({"g": {"box_data": [{"position": BOX, "class_id": 1, "domain": "percent"}]}},
     ValueError, "domain"),
    ({"g": {"box_data": [{"position": BOX, "class_id": 1, "scores": {"a": "high"}}]}},
     TypeError, "scores"),
    ({"g": {"box_data": [], "class_labels": {"one": "car"}}}, TypeError, "class_labels"),
    ({"g": {"box_data": [], "class_labels": {1: 2}}}, TypeError, "class_labels")])
def test_bad_boxes_are_rejected_naming_the_offending_part(boxes, error, words):
    with pytest.raises(error, match=words):
        Image(rgb(), boxes=boxes)


def test_masks_are_saved_as_their_own_png_and_round_trip(tmp_path):
    ids = np.random.default_rng(0).integers(0, 4, (4, 5))
    masks = {"truth": {"mask_data": ids, "class_labels": {0: "bg", 1: "a", 2: "b", 3: "c"}},
             "pred": {"mask_data": torch.ones(4, 5, dtype=torch.int64)}}
    image = Image(rgb(), masks=masks)
    assert image.masks == {"truth": {0: "bg", 1: "a", 2: "b", 3: "c"}, "pred": {1: "class_1"}}
    descriptor, logged = roundtrip(image, tmp_path, "seg", 2)
    truth = descriptor["masks"]["truth"]
    assert truth["_type"] == "mask-file"
    assert truth["path"] == f"media/masks/seg_truth_2_{truth['sha256'][:8]}.png"
    np.testing.assert_array_equal(logged.masks["truth"].to_numpy(), ids)
    assert logged.masks["truth"].class_labels == {0: "bg", 1: "a", 2: "b", 3: "c"}
    assert logged.masks["pred"].class_labels == {1: "class_1"}


@pytest.mark.parametrize("masks, error, words", [
    ([], TypeError, "masks"),
    ({"g": {"labels": {}}}, ValueError, "mask_data"),
    ({"g": {"mask_data": np.zeros((5, 4), int)}}, ValueError, r"shape \(4, 5\)"),
    ({"g": {"mask_data": np.zeros((4, 5, 1), int)}}, ValueError, "mask_data"),
    ({"g": {"mask_data": np.full((4, 5), 300)}}, ValueError, "0 to 255"),
    ({"g": {"mask_data": np.full((4, 5), -1)}}, ValueError, "0 to 255"),
    ({"g": {"mask_data": np.full((4, 5), 0.5)}}, ValueError, "integer"),
    ({"g": {"mask_data": np.zeros((4, 5), int), "extra": 1}}, ValueError, "extra")])
def test_bad_masks_are_rejected_naming_the_group(masks, error, words):
    with pytest.raises(error, match=words):
        Image(rgb(), masks=masks)


def test_masks_accept_bools_and_integral_floats():
    masks = {"a": {"mask_data": np.ones((4, 5), bool)},
             "b": {"mask_data": np.full((4, 5), 2.0)}}
    assert Image(rgb(), masks=masks).masks == {"a": {1: "class_1"}, "b": {2: "class_2"}}


def test_classes_as_dict_or_list(tmp_path):
    descriptor = Image(rgb(), classes={1: "cat"}).to_json(tmp_path, "a", 0)
    assert descriptor["classes"] == [{"id": 1, "name": "cat"}]
    assert decode_value(descriptor, tmp_path).classes == [{"id": 1, "name": "cat"}]
    assert Image(rgb(), classes=[{"id": 2, "name": "dog"}]).classes == [{"id": 2,
                                                                          "name": "dog"}]
    with pytest.raises(ValueError, match=r"classes\[0\]"):
        Image(rgb(), classes=[{"id": 1}])


# ---------------------------------------------------------------- table
def test_table_defaults_add_data_add_column_and_get_column():
    table = Table()
    assert table.columns == ["Input", "Output", "Expected"] and table.data == []
    table.add_data("a", 1, True)
    table.add_data(np.str_("b"), np.int64(2), np.bool_(False))
    table.add_column("score", np.array([0.5, np.nan]))
    assert table.columns == ["Input", "Output", "Expected", "score"]
    assert table.data == [["a", 1, True, 0.5], ["b", 2, False, None]]
    assert type(table.data[1][1]) is int and type(table.data[1][2]) is bool
    assert table.get_column("Output") == [1, 2]
    np.testing.assert_array_equal(table.get_column("Output", convert_to="numpy"), [1, 2])
    table.data[0][0] = "changed"
    table.columns.append("x")
    assert table.data[0][0] == "a" and len(table.columns) == 4


def test_an_empty_table_takes_columns_of_any_length():
    table = Table(columns=[])
    table.add_column("a", [1, 2, 3])
    table.add_column("b", torch.tensor([4, 5, 6]))
    assert table.data == [[1, 4], [2, 5], [3, 6]]


def test_table_rows_round_trip_through_the_json_file(tmp_path):
    rows = [[1, 2.5, "x", True, None], [np.int32(3), float("inf"), "ü", False, 4]]
    table = Table(columns=["i", "f", "s", "b", "n"], data=rows)
    descriptor, logged = roundtrip(table, tmp_path, "tab", 4)
    assert (descriptor["_type"], descriptor["ncols"], descriptor["nrows"]) == ("table-file",
                                                                              5, 2)
    assert isinstance(logged, LoggedTable)
    assert logged.columns == ("i", "f", "s", "b", "n")
    assert [list(r) for r in logged.data] == [[1, 2.5, "x", True, None],
                                              [3, None, "ü", False, 4]]
    stored = json.loads((tmp_path / descriptor["path"]).read_text(encoding="utf-8"))
    assert set(stored) == {"columns", "data"}
    assert logged.get_column("s") == ["x", "ü"]
    frame = logged.get_dataframe()
    assert list(frame.columns) == ["i", "f", "s", "b", "n"] and frame["i"].tolist() == [1, 3]


def test_tables_from_arrays_rows_and_dataframes(tmp_path):
    assert Table(columns=["a", "b"], data=np.arange(4).reshape(2, 2)).data == [[0, 1], [2, 3]]
    assert Table(columns=["a"], rows=[[1]]).data == [[1]]
    frame = pd.DataFrame({"x": [1.0, np.nan], "y": ["a", None], 3: [True, False],
                          "t": pd.to_datetime(["2024-01-02", None])})
    table = Table(dataframe=frame)
    assert table.columns == ["x", "y", "3", "t"]
    assert table.data == [[1.0, "a", True, "2024-01-02T00:00:00"], [None, None, False, None]]
    back = roundtrip(table, tmp_path)[1].get_dataframe()
    assert back["y"][0] == "a" and pd.isna(back["y"][1]) and back["3"].tolist() == [True, False]
    assert table.get_dataframe().shape == (2, 4)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"columns": ["a"], "data": [[1], [1, 2]]}, ValueError, r"data\[1\]"),
    ({"columns": ["a"], "rows": [[1, 2]]}, ValueError, r"rows\[0\]"),
    ({"columns": ["a"], "data": [[[1, 2]]]}, TypeError, r"data\[0\]\[0\]"),
    ({"columns": ["a"], "data": [[{"k": 1}]]}, TypeError, "cell"),
    ({"columns": ["a"], "data": ["row"]}, TypeError, r"data\[0\]"),
    ({"columns": ["a"], "data": np.arange(3)}, ValueError, "2-D"),
    ({"columns": ["a"], "data": 5}, TypeError, "data"),
    ({"columns": ["a", "a"]}, ValueError, "unique"),
    ({"columns": [1, 2]}, TypeError, "columns"),
    ({"columns": "abc"}, TypeError, "columns"),
    ({"data": [[1, 2, 3]], "rows": [[1, 2, 3]]}, ValueError, "rows"),
    ({"columns": ["a"], "dataframe": pd.DataFrame({"a": [1]})}, ValueError, "dataframe"),
    ({"dataframe": [[1]]}, TypeError, "dataframe"),
    ({"dataframe": pd.DataFrame([[1, 2]], columns=["a", "a"])}, ValueError, "unique"),
    ({"columns": ["a"], "data": pd.DataFrame({"a": [1]})}, TypeError, "dataframe=")])
def test_table_arguments_are_checked(kwargs, error, words):
    with pytest.raises(error, match=words):
        Table(**kwargs)


def test_table_methods_are_checked():
    table = Table(columns=["a", "b"], data=[[1, 2]])
    with pytest.raises(ValueError, match="add_data"):
        table.add_data(1)
    with pytest.raises(TypeError, match="another Table"):
        table.add_data(1, Table())
    with pytest.raises(ValueError, match="already exists"):
        table.add_column("a", [1])
    with pytest.raises(ValueError, match="one per row"):
        table.add_column("c", [1, 2])
    with pytest.raises(TypeError, match="name"):
        table.add_column(1, [1])
    with pytest.raises(KeyError, match="'z'"):
        table.get_column("z")
    with pytest.raises(ValueError, match="convert_to"):
        table.get_column("a", convert_to="list")
    assert table.data == [[1, 2]]


def test_the_row_limit_is_enforced_with_a_clear_error(monkeypatch):
    from weightslab_nb.tracking.media import table as table_module

    monkeypatch.setattr(table_module, "MAX_TABLE_ROWS", 3)
    table = Table(columns=["a"], data=[[1], [2], [3]])
    with pytest.raises(ValueError, match="at most 3 rows"):
        table.add_data(4)
    with pytest.raises(ValueError, match="data: a Table holds at most 3"):
        Table(columns=["a"], data=[[i] for i in range(4)])
    assert len(table.data) == 3


def test_the_default_row_limit_is_200_000():
    assert media.MAX_TABLE_ROWS == 200_000


def test_media_cells_are_saved_with_the_table_and_read_back(tmp_path):
    pixels = rgb(3, 3, seed=9)
    table = Table(columns=["id", "picture", "hist"],
                  data=[[0, Image(pixels, caption="p"), Histogram([1, 2], num_bins=2)],
                        [1, None, None]])
    descriptor, logged = roundtrip(table, tmp_path, "samples", 5)
    stored = json.loads((tmp_path / descriptor["path"]).read_text())
    cell = stored["data"][0][1]
    assert cell["_type"] == "image-file" and cell["path"].startswith("media/images/samples_0_1_5_")
    picture = logged.data[0][1]
    assert isinstance(picture, LoggedImage) and picture.caption == "p"
    np.testing.assert_array_equal(picture.to_numpy(), pixels)
    assert list(logged.data[0][2].histogram) == [1, 1]


# ---------------------------------------------------------------- html
def test_html_gets_a_default_style_unless_it_has_one_or_inject_is_false(tmp_path):
    injected = Html("<p>hi</p>")
    assert injected.html.startswith("<head><meta charset=\"utf-8\"><style>")
    assert injected.html.endswith("<p>hi</p>")
    assert Html("<p>hi</p>", inject=False).html == "<p>hi</p>"
    styled = "<style>p{color:red}</style><p>hi</p>"
    assert Html(styled).html == styled
    with_head = Html("<html><head><title>t</title></head><body>x</body></html>").html
    assert with_head.startswith("<html><head><style>") and "<title>t</title>" in with_head
    no_head = Html("<html><body>x</body></html>").html
    assert no_head.startswith("<html><head>") and no_head.endswith("<body>x</body></html>")


def test_html_from_strings_files_and_paths_round_trips(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("<b>ß</b>", encoding="utf-8")
    for source in (path, io.StringIO("<b>ß</b>"), io.BytesIO("<b>ß</b>".encode())):
        descriptor, logged = roundtrip(Html(source, inject=False), tmp_path / "run", "page")
        assert isinstance(logged, LoggedFile) and logged.kind == "html-file"
        assert descriptor["path"].startswith("media/html/page_0_") and \
            descriptor["path"].endswith(".html")
        assert logged.read_text() == "<b>ß</b>"
    assert Html(str(path), inject=False).html == str(path)  # a str is HTML, not a path


def test_html_arguments_are_checked(tmp_path):
    with pytest.raises(TypeError, match="inject"):
        Html("<p/>", inject="yes")
    with pytest.raises(TypeError, match="data"):
        Html(42)
    with pytest.raises(FileNotFoundError, match="data"):
        Html(tmp_path / "absent.html")


# ---------------------------------------------------------------- audio
def test_float_mono_audio_is_written_as_16_bit_pcm(tmp_path):
    samples = np.sin(np.linspace(0, 20, 800))
    audio = Audio(samples, sample_rate=8000, caption="tone")
    descriptor, logged = roundtrip(audio, tmp_path, "sound")
    assert descriptor["path"].endswith(".wav") and descriptor["path"].startswith("media/audio/")
    assert (logged.kind, logged.sample_rate, logged.caption) == ("audio-file", 8000, "tone")
    assert logged.duration == pytest.approx(0.1) and logged.channels == 1
    stored, rate = wav_samples(logged.path)
    assert rate == 8000 and stored.shape == (800, 1)
    np.testing.assert_allclose(stored[:, 0] / 32767, samples, atol=1 / 32767)


def test_int16_stereo_audio_round_trips_exactly(tmp_path):
    samples = np.random.default_rng(0).integers(-32768, 32767, (50, 2)).astype(np.int16)
    logged = roundtrip(Audio(torch.from_numpy(samples), sample_rate=100), tmp_path)[1]
    stored, _ = wav_samples(logged.path)
    np.testing.assert_array_equal(stored, samples)
    assert logged.duration == 0.5 and logged.channels == 2


def test_float_audio_outside_minus_one_to_one_is_clipped(tmp_path):
    logged = roundtrip(Audio(np.array([-2.0, 0.0, 2.0]), sample_rate=3), tmp_path)[1]
    np.testing.assert_array_equal(wav_samples(logged.path)[0][:, 0], [-32767, 0, 32767])


def test_a_wav_file_is_copied_and_described(tmp_path):
    path = tmp_path / "clip.WAV"
    path.write_bytes(_wav_bytes(np.zeros((441, 1), np.int16), 44100))
    audio = Audio(path)
    assert (audio.sample_rate, audio.frames, audio.duration) == (44100, 441, 0.01)
    logged = roundtrip(audio, tmp_path / "run")[1]
    assert logged.read_bytes() == path.read_bytes()
    assert Audio(path, sample_rate=44100).sample_rate == 44100
    with pytest.raises(ValueError, match="sample_rate"):
        Audio(path, sample_rate=8000)


@pytest.mark.parametrize("args, kwargs, error, words", [
    ((np.zeros(10),), {}, ValueError, "sample_rate: required"),
    ((np.zeros(10),), {"sample_rate": 0}, ValueError, "sample_rate"),
    ((np.zeros(10),), {"sample_rate": 8000.5}, TypeError, "sample_rate"),
    ((np.zeros((2, 1000)),), {"sample_rate": 8}, ValueError, "transpose"),
    ((np.zeros((2, 2, 2)),), {"sample_rate": 8}, ValueError, "data_or_path"),
    ((np.zeros(0),), {"sample_rate": 8}, ValueError, "data_or_path"),
    ((np.zeros(10, np.int32),), {"sample_rate": 8}, TypeError, "int16"),
    ((np.array([0.0, np.nan]),), {"sample_rate": 8}, ValueError, "finite"),
    (("clip.mp3",), {}, ValueError, r"\.wav")])
def test_audio_arguments_are_checked(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        Audio(*args, **kwargs)


def test_audio_files_must_exist_and_be_pcm_wav(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_or_path"):
        Audio(tmp_path / "absent.wav")
    (tmp_path / "bad.wav").write_bytes(b"RIFF0000nope")
    with pytest.raises(ValueError, match="PCM WAV"):
        Audio(tmp_path / "bad.wav")


# ---------------------------------------------------------------- video
def test_grey_frames_become_an_animated_gif_with_the_same_pixels(tmp_path):
    frames = np.stack([np.full((1, 6, 8), i * 40, np.uint8) for i in range(5)])
    frames[:, 0, 0, 0] = 7
    descriptor, logged = roundtrip(Video(frames, fps=10, caption="run"), tmp_path, "clip")
    assert descriptor["path"].startswith("media/videos/clip_0_") and logged.format == "gif"
    assert (logged.fps, logged.frames, logged.width, logged.height, logged.caption) == (
        10, 5, 8, 6, "run")
    with PILImage.open(logged.path) as gif:
        assert gif.info["duration"] == 100
        stored = [np.asarray(f.convert("L")) for f in ImageSequence.Iterator(gif)]
    np.testing.assert_array_equal(np.stack(stored), frames[:, 0])


def test_rgb_float_tensor_frames_are_scaled(tmp_path):
    frames = torch.zeros(3, 3, 4, 5)
    for i in range(3):
        frames[i, i] = 1.0
    logged = roundtrip(Video(frames), tmp_path)[1]
    assert logged.fps == 4
    with PILImage.open(logged.path) as gif:
        stored = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
    np.testing.assert_array_equal(np.stack(stored),
                                  (frames.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8))


def test_a_video_file_is_copied_with_its_format(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    descriptor, logged = roundtrip(Video(path, fps=30), tmp_path / "run")
    assert descriptor["path"].endswith(".mp4") and logged.read_bytes() == path.read_bytes()
    assert (logged.format, logged.fps, logged.frames) == ("mp4", 30, None)
    gif = tmp_path / "anim.gif"
    two_frames = np.array([[[0]], [[9]]], np.uint8).repeat(3, axis=1).repeat(4, axis=2)
    gif.write_bytes(_gif_bytes(two_frames, 4))
    assert (Video(gif).frames, Video(gif).width, Video(gif).height) == (2, 4, 3)
    assert Video(gif, format="gif").format == "gif"


@pytest.mark.parametrize("args, kwargs, error, words", [
    ((np.zeros((2, 3, 4, 4)),), {"format": "mp4"}, ValueError, "GIF"),
    ((np.zeros((2, 2, 4, 4)),), {}, ValueError, r"\[T, C, H, W\]"),
    ((np.zeros((3, 4, 4)),), {}, ValueError, "data_or_path"),
    ((np.zeros((1, 1, 4, 4)),), {"fps": 0}, ValueError, "fps"),
    ((np.zeros((1, 1, 4, 4)),), {"fps": float("nan")}, ValueError, "fps"),
    ((np.zeros((1, 1, 4, 4)),), {"fps": True}, TypeError, "fps"),
    (("clip.avi",), {}, ValueError, r"\.gif, \.mp4, \.webm, \.ogg")])
def test_video_arguments_are_checked(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        Video(*args, **kwargs)


def test_a_video_files_format_must_match_its_extension(tmp_path):
    path = tmp_path / "clip.webm"
    path.write_bytes(b"webm")
    with pytest.raises(ValueError, match="format"):
        Video(path, format="mp4")
    with pytest.raises(FileNotFoundError, match="data_or_path"):
        Video(tmp_path / "absent.ogg")


# ---------------------------------------------------------------- object3D
@pytest.mark.parametrize("points, expected", [
    (np.array([[0, 1, 2], [3.5, 4, 5]]), [[0.0, 1.0, 2.0], [3.5, 4.0, 5.0]]),
    (np.array([[0, 1, 2, 14], [3, 4, 5, 1]]), [[0.0, 1.0, 2.0, 14], [3.0, 4.0, 5.0, 1]]),
    (torch.tensor([[0.0, 1, 2, 255, 0, 10.4]]), [[0.0, 1.0, 2.0, 255, 0, 10]])])
def test_point_clouds_are_saved_as_json(tmp_path, points, expected):
    descriptor, logged = roundtrip(Object3D(points), tmp_path, "cloud")
    assert descriptor["path"].startswith("media/object3D/cloud_0_")
    assert descriptor["path"].endswith(".pts.json")
    assert (logged.kind, logged.format, logged.npoints) == ("object3D-file", "points",
                                                            len(expected))
    assert json.loads(logged.read_text()) == {"type": "points", "points": expected}


def test_a_lidar_scene_with_boxes_and_vectors_is_validated_and_saved(tmp_path):
    corners = [[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)]
    scene = {"type": "lidar/beta", "points": np.array([[0.4, 1, 1.3], [1, 1, 1]]),
             "boxes": np.array([{"corners": corners, "label": "Box", "color": [123, 21, 11]},
                                {"corners": np.array(corners) * 2, "color": (1, 2, 3)}]),
             "vectors": [{"start": [0, 0, 0], "end": [0.1, 0.2, 0.5]}]}
    logged = roundtrip(Object3D(scene), tmp_path)[1]
    stored = json.loads(logged.read_text())
    assert logged.format == "lidar/beta" and logged.npoints == 2
    assert stored["points"] == [[0.4, 1.0, 1.3], [1.0, 1.0, 1.0]]
    assert stored["boxes"][0] == {"corners": [[float(v) for v in c] for c in corners],
                                  "color": [123, 21, 11], "label": "Box"}
    assert "label" not in stored["boxes"][1] and stored["boxes"][1]["color"] == [1, 2, 3]
    assert stored["vectors"] == [{"start": [0.0, 0.0, 0.0], "end": [0.1, 0.2, 0.5]}]


CORNERS = np.zeros((8, 3))


@pytest.mark.parametrize("data, error, words", [
    (np.zeros((2, 5)), ValueError, r"\[N, 3\]"),
    (np.zeros(3), ValueError, "data_or_path"),
    (np.array([[0, 0, 0, 0]]), ValueError, "category"),
    (np.array([[0, 0, 0, 15]]), ValueError, "1 to 14"),
    (np.array([[0, 0, 0, 1.5]]), ValueError, "category"),
    (np.array([[0, 0, 0, 0, 300, 0]]), ValueError, "0 to 255"),
    (np.array([[0, np.nan, 0]]), ValueError, "finite"),
    ({"type": "mesh", "points": np.zeros((1, 3))}, ValueError, "lidar/beta"),
    ({"type": "lidar/beta"}, ValueError, "points"),
    ({"type": "lidar/beta", "points": np.zeros((1, 3)), "extra": 1}, ValueError, "extra"),
    ({"type": "lidar/beta", "points": np.zeros((1, 3)),
      "boxes": [{"corners": np.zeros((4, 3)), "color": [0, 0, 0]}]}, ValueError, "corners"),
    ({"type": "lidar/beta", "points": np.zeros((1, 3)),
      "boxes": [{"corners": CORNERS, "color": [0, 321, 0]}]}, ValueError, "color"),
    ({"type": "lidar/beta", "points": np.zeros((1, 3)),
      "boxes": [{"corners": CORNERS}]}, ValueError, "color"),
    ({"type": "lidar/beta", "points": np.zeros((1, 3)), "boxes": ["box"]}, TypeError,
     r"boxes'\]\[0\]"),
    ({"type": "lidar/beta", "points": np.zeros((1, 3)),
      "boxes": [{"corners": CORNERS, "color": [0, 0, 0], "label": 1}]}, TypeError, "label"),
    ({"type": "lidar/beta", "points": np.zeros((1, 3)),
      "vectors": [{"start": [0, 0, 0]}]}, ValueError, "end"),
    ("mesh.fbx", ValueError, r"\.obj")])
def test_object3d_arguments_are_checked(data, error, words):
    with pytest.raises(error, match=words):
        Object3D(data)


def test_a_model_file_is_copied(tmp_path):
    path = tmp_path / "cube.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    descriptor, logged = roundtrip(Object3D(path), tmp_path / "run")
    assert descriptor["path"].endswith(".obj") and logged.read_bytes() == path.read_bytes()
    assert (logged.format, logged.npoints) == ("obj", None)
    with pytest.raises(FileNotFoundError, match="data_or_path"):
        Object3D(tmp_path / "absent.glb")


# ---------------------------------------------------------------- encode_value
def test_encode_value_describes_media_and_leaves_other_values_to_the_caller(tmp_path):
    assert encode_value(Histogram([1]), tmp_path, "h", 0)["_type"] == "histogram"
    for plain in (1.0, "text", [1, 2], (), np.zeros(3), {"a": 1}, None, [None, 1]):
        assert encode_value(plain, tmp_path, "k", 0) is None
    assert not (tmp_path / "media").exists()


def test_a_list_of_one_media_class_is_a_media_list(tmp_path):
    images = [Image(rgb(seed=i), caption=str(i)) for i in range(3)]
    descriptor = encode_value(tuple(images), tmp_path, "val/examples", 2)
    assert descriptor["_type"] == "media-list" and len(descriptor["items"]) == 3
    assert [Path(d["path"]).name.split("_")[:3] for d in descriptor["items"]] == [
        ["val", "examples", str(i)] for i in range(3)]
    assert all(Path(d["path"]).name.split("_")[3] == "2" for d in descriptor["items"])
    logged = decode_value(descriptor, tmp_path)
    assert [item.caption for item in logged] == ["0", "1", "2"]
    for i, item in enumerate(logged):
        np.testing.assert_array_equal(item.to_numpy(), rgb(seed=i))


@pytest.mark.parametrize("items", [[Image(rgb()), Histogram([1])], [Image(rgb()), 3]])
def test_a_list_mixing_media_kinds_or_plain_values_is_an_error(tmp_path, items):
    with pytest.raises(ValueError, match="data\\['mixed'\\]: a list of media"):
        encode_value(items, tmp_path, "mixed", 0)


def test_matplotlib_figures_and_pyplot_are_logged_as_png_images(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(2, 1.5), dpi=50)
    try:
        plt.plot([1, 2, 3], [3, 1, 2])
        descriptor = encode_value(figure, tmp_path, "chart", 1)
        assert descriptor["_type"] == "image-file" and descriptor["format"] == "png"
        logged = decode_value(descriptor, tmp_path)
        assert (logged.width, logged.height) == (100, 75)
        assert logged.to_numpy().std() > 0  # something was drawn
        current = encode_value(plt, tmp_path, "chart", 1)
        assert current == descriptor
        assert Image(figure, caption="fig").caption == "fig"
    finally:
        plt.close(figure)


# ---------------------------------------------------------------- decode_value
def test_decode_value_reports_a_missing_file_with_its_path(tmp_path):
    descriptor = Html("<p/>").to_json(tmp_path, "page", 0)
    (tmp_path / descriptor["path"]).unlink()
    with pytest.raises(FileNotFoundError, match=descriptor["path"].split("/")[-1]):
        decode_value(descriptor, tmp_path)
    image = Image(rgb(), masks={"m": {"mask_data": np.zeros((4, 5), int)}})
    descriptor = image.to_json(tmp_path, "seg", 0)
    (tmp_path / descriptor["masks"]["m"]["path"]).unlink()
    with pytest.raises(FileNotFoundError, match="masks"):
        decode_value(descriptor, tmp_path)


@pytest.mark.parametrize("descriptor, words", [
    ("image", "descriptor"), ({"path": "x"}, "_type"), ({"_type": "plotly"}, "unknown"),
    ({"_type": "html-file"}, "path"), ({"_type": "html-file", "path": "/etc/passwd"}, "inside"),
    ({"_type": "html-file", "path": "media/../../x.html"}, "inside")])
def test_decode_value_rejects_malformed_descriptors(tmp_path, descriptor, words):
    with pytest.raises(ValueError, match=words):
        decode_value(descriptor, tmp_path)


def test_logged_values_are_read_only_and_expose_descriptor_fields(tmp_path):
    logged = roundtrip(Audio(np.zeros(8), sample_rate=8), tmp_path)[1]
    assert logged.fields["sample_rate"] == 8 and logged.size == logged.path.stat().st_size
    with pytest.raises(AttributeError, match="fps"):
        _ = logged.fps
    with pytest.raises(AttributeError):
        logged.path = Path("elsewhere")
    image = roundtrip(Image(rgb()), tmp_path)[1]
    with pytest.raises(AttributeError):
        image.width = 1
    table = roundtrip(Table(columns=["a"], data=[["secret"]]), tmp_path)[1]
    assert "secret" not in repr(table)  # the repr stays short for large tables


def test_a_tiff_file_is_stored_as_png_for_browsers(tmp_path):
    source = tmp_path / "scan.tiff"
    PILImage.fromarray(np.full((3, 5), 200, dtype=np.uint8)).save(source)
    descriptor = Image(source).to_json(tmp_path / "run", "scan", 0)
    assert descriptor["path"].endswith(".png")
    assert (descriptor["width"], descriptor["height"]) == (5, 3)
    assert decode_value(descriptor, tmp_path / "run").to_numpy().max() == 200


def test_extreme_values_get_clear_errors_or_valid_files(tmp_path):
    wide = Histogram([-1e308, 1e308], num_bins=4)  # a range too wide for float64 bin widths
    assert wide.histogram == [1, 0, 0, 1]
    video = Video(np.zeros((2, 1, 4, 4), dtype=np.uint8), fps=np.float32(4))
    descriptor = video.to_json(tmp_path, "v", 0)
    assert json.dumps(descriptor) and descriptor["fps"] == 4.0
    with pytest.raises(ValueError, match="fps"):
        Video(np.zeros((2, 1, 4, 4), dtype=np.uint8), fps=0.001)
    with pytest.raises(ValueError, match="sample_rate"):
        Audio(np.zeros(10), sample_rate=2**33)
