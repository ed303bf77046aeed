"""RunMedia against a real session and tracking run: one card per logged key, older steps on
request, image/audio bytes as buffers, refusals that change nothing."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image as PILImage

import weightslab_nb as wl
from weightslab_nb.panels import RunMedia
from weightslab_nb.panels.media_bytes import FileBytes

from tests.panel_capture import Capture, ask


@pytest.fixture
def logged(session):
    """A run with a number, a text, a histogram, a table, one image and a list of images,
    logged at steps 0..2."""
    run = wl.init(project="panel")
    pixels = np.zeros((4, 6, 3), dtype=np.uint8)
    for step in range(3):
        pixels[..., 0] = 80 * step
        table = wl.Table(columns=["id", "picture"], data=[[i, wl.Image(pixels)] for i in range(3)])
        wl.log({"loss": 1.0 / (step + 1), "phase": f"epoch {step}",
                "weights": wl.Histogram(np.arange(10.0) * (step + 1), num_bins=4),
                "table": table, "sample": wl.Image(pixels, caption=f"step {step}"),
                "batch": [wl.Image(pixels), wl.Image(pixels[:2])]}, step=step)
    return run


@pytest.fixture
def panel(session):
    widget = RunMedia(session)
    cap = Capture(widget)
    yield widget, cap
    widget.close()


def card(widget, key):
    return next(e for e in widget.entries if e["key"] == key)


def test_without_a_run_the_panel_is_empty(panel):
    widget, _ = panel
    assert widget.flush() and widget.run == {} and widget.entries == []


def test_each_key_is_a_card_of_its_kind_with_its_latest_value(logged, panel):
    widget, _ = panel
    assert widget.flush()
    assert widget.run == {"id": logged.id, "name": logged.name, "project": "panel",
                          "path": logged.path, "state": "running", "step": 3}
    assert [(e["key"], e["kind"]) for e in widget.entries] == [
        ("loss", "number"), ("phase", "text"), ("weights", "histogram"), ("table", "table"),
        ("sample", "image"), ("batch", "images")]
    loss = card(widget, "loss")
    assert loss["step"] == 2 and loss["steps"] == [0, 1, 2]
    assert loss["value"] == pytest.approx(1 / 3) and loss["series"][0] == [0, 1.0]
    assert card(widget, "phase")["value"] == "epoch 2"
    assert len(card(widget, "weights")["value"]["values"]) == 4
    table = card(widget, "table")["value"]
    assert table["columns"] == ["id", "picture"] and table["nrows"] == 3
    assert table["rows"][0] == [0, {"kind": "image", "width": 6, "height": 4, "caption": None}]
    assert table["images"] == 3
    assert card(widget, "sample")["value"] == {"count": 1, "captions": ["step 2"],
                                               "width": 6, "height": 4}
    assert card(widget, "batch")["value"]["count"] == 2


def test_new_values_and_the_finished_state_reach_the_panel(logged, panel):
    widget, _ = panel
    assert widget.flush()
    wl.log({"loss": 0.1}, step=7)
    assert widget.flush() and card(widget, "loss")["steps"] == [0, 1, 2, 7]
    logged.finish()
    assert widget.flush() and widget.run["state"] == "finished"  # still shown after finishing


def test_an_earlier_step_is_sent_on_request(logged, panel):
    widget, cap = panel
    reply, buffers = ask(widget, cap, 1, type="value", key="phase", step=1)
    assert reply["type"] == "value_result" and reply["ok"] and not buffers
    assert reply["entry"]["value"] == "epoch 1" and reply["entry"]["step"] == 1


def test_images_come_as_png_buffers_with_their_captions(logged, panel):
    widget, cap = panel
    reply, buffers = ask(widget, cap, 2, type="media", key="sample", step=1)
    assert reply["ok"] and reply["kind"] == "image" and reply["step"] == 1
    assert reply["items"] == [{"caption": "step 1", "mime": "image/png", "width": 6,
                               "height": 4}]
    picture = np.asarray(PILImage.open(io.BytesIO(buffers[0])))
    assert picture.shape[:2] == (4, 6) and picture[0, 0, 0] == 80
    reply, buffers = ask(widget, cap, 3, type="media", key="batch", step=2)
    assert len(reply["items"]) == len(buffers) == 2 and reply["items"][1]["height"] == 2
    assert reply["count"] == 2
    reply, _ = ask(widget, cap, "mk3x9a1:12", type="media", key="sample", step=0)
    assert reply["req"] == "mk3x9a1:12" and reply["ok"]  # string ids of a second view


@pytest.mark.parametrize("content,words", [
    ({"type": "value", "key": "nope", "step": 0}, "'nope' was not logged"),
    ({"type": "value", "key": "loss", "step": 5}, "no value at step 5"),
    ({"type": "value", "key": "loss", "step": -1}, "step"),
    ({"type": "value", "key": "loss", "step": "1"}, "step"),
    ({"type": "value", "key": "loss"}, "step: required"),
    ({"type": "media", "key": "loss", "step": 0}, "holds nothing with bytes to send"),
    ({"type": "media", "key": "weights", "step": 0}, "(histogram)"),
    ({"type": "media", "key": "", "step": 0}, "key"),
    ({"type": "media", "key": 3, "step": 0}, "key"),
])
def test_bad_requests_are_refused_with_the_reason(logged, panel, content, words):
    widget, cap = panel
    assert widget.flush()
    before = list(widget.entries)
    reply, buffers = ask(widget, cap, 9, **content)
    assert reply["ok"] is False and words in reply["message"] and not buffers
    assert widget.flush() and widget.entries == before


def test_a_given_run_is_shown_instead_of_the_sessions(logged, session):
    other = wl.init(reinit=True, name="other")
    wl.log({"x": 1})
    widget = RunMedia(session, run=logged)
    try:
        assert widget.flush() and widget.run["id"] == logged.id and other.id != logged.id
    finally:
        widget.close()
    with pytest.raises(TypeError, match="run"):
        RunMedia(session, run="abc")


def test_a_value_that_cannot_be_shown_does_not_freeze_the_other_cards(logged, session):
    next((logged.dir / "media" / "tables").glob("table_2_*.table.json")).unlink()
    widget = RunMedia(session)  # a panel that never saw the deleted file
    try:
        assert widget.flush()
        broken = card(widget, "table")
        assert broken["kind"] == "other" and "cannot show this value" in broken["value"]["text"]
        wl.log({"loss": 0.125}, step=3)
        assert widget.flush() and card(widget, "loss")["value"] == 0.125
    finally:
        widget.close()


def test_keys_with_spaces_can_be_requested(session, panel):
    widget, cap = panel
    wl.init()
    wl.log({"val acc ": 0.5})
    reply, _ = ask(widget, cap, 4, type="value", key="val acc ", step=0)
    assert reply["ok"] and reply["entry"]["value"] == 0.5


def test_image_cells_of_a_table_come_as_png_buffers_with_their_row_and_column(logged, panel):
    widget, cap = panel
    reply, buffers = ask(widget, cap, 5, type="media", key="table", step=1)
    assert reply["ok"] and reply["kind"] == "table" and reply["count"] == 3
    assert [(i["row"], i["col"]) for i in reply["items"]] == [(0, 1), (1, 1), (2, 1)]
    assert reply["items"][0] == {"row": 0, "col": 1, "caption": None, "mime": "image/png",
                                 "width": 6, "height": 4}
    picture = np.asarray(PILImage.open(io.BytesIO(buffers[2])))
    assert picture.shape[:2] == (4, 6) and picture[0, 0, 0] == 80  # step 1's red


def test_a_table_without_images_answers_a_media_request_with_no_items(session, panel):
    widget, cap = panel
    wl.init()
    wl.log({"scores": wl.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])})
    assert widget.flush() and card(widget, "scores")["value"]["images"] == 0
    reply, buffers = ask(widget, cap, 6, type="media", key="scores", step=0)
    assert reply["ok"] and reply["items"] == [] and reply["count"] == 0 and buffers == []


def test_the_latest_media_still_show_after_the_run_folder_is_deleted(logged, panel):
    """A notebook that deletes its run folder right after logging (before the browser asked
    for the bytes) still gets the latest images; older steps say their file is missing."""
    widget, cap = panel
    assert widget.flush()
    shutil.rmtree(logged.dir / "media")
    reply, buffers = ask(widget, cap, 1, type="media", key="sample", step=2)
    assert reply["ok"] and reply["items"][0]["caption"] == "step 2"
    assert np.asarray(PILImage.open(io.BytesIO(buffers[0])))[0, 0, 0] == 160
    reply, buffers = ask(widget, cap, 2, type="media", key="batch", step=2)
    assert reply["ok"] and len(buffers) == 2
    reply, buffers = ask(widget, cap, 3, type="media", key="table", step=2)
    assert reply["ok"] and len(buffers) == 3
    reply, buffers = ask(widget, cap, 4, type="media", key="sample", step=0)
    assert reply["ok"] is False and "is missing" in reply["message"] and not buffers


def test_the_kept_bytes_stay_within_their_bound(tmp_path):
    files = []
    for i in range(5):
        files.append(tmp_path / f"f{i}.bin")
        files[-1].write_bytes(bytes([i]) * 100)
    kept = FileBytes(max_file=150, max_total=250)
    assert all(kept.keep(f) for f in files[:3])
    assert len(kept) == 2 and kept.size == 200  # the oldest went first
    assert kept.get(files[2]) == bytes([2]) * 100
    files[0].unlink()
    assert kept.keep(files[0]) is False
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 151)
    assert kept.keep(big) is False
    with pytest.raises(ValueError, match="larger than"):
        kept.get(big)
    with pytest.raises(ValueError, match="missing"):
        kept.get(files[0])
