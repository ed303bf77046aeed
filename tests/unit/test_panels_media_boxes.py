"""RunMedia with boxes and masks: an image card's media reply carries its box groups (capped)
and its masks' PNGs; a BoundingBoxes2D or an ImageMask logged alone has a card of its own."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image as PILImage

import weightslab_nb as wl
from tests.panel_capture import ask, card
from tests.panel_capture import run_media_panel  # noqa: F401 (the fixture `panel`)
from weightslab_nb.panels.media_cards.overlays import MAX_BOXES, shares

LABELS = {1: "cat", 2: "dog", 3: "car"}


def box(x0, y0, x1, y1, cls, **more):
    return {"position": {"minX": x0, "maxX": x1, "minY": y0, "maxY": y1}, "class_id": cls, **more}


def road_mask(h=24, w=32):
    ids = np.zeros((h, w), np.uint8)
    ids[12:, :] = 4  # road
    ids[2:6, 2:6] = 5  # sky
    return ids


def image_with_overlays(n_boxes=3):
    pixels = np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    predictions = [box(0.1, 0.1, 0.4, 0.5, 1, scores={"score": 0.9}, box_caption="a cat"),
                   box(0.5, 0.5, 0.9, 0.9, 2)]
    truth = [box(i % 30, 0, i % 30 + 2, 3, 3, domain="pixel") for i in range(n_boxes)]
    return wl.Image(pixels, caption="street", boxes={
        "predictions": {"box_data": predictions, "class_labels": LABELS},
        "ground_truth": {"box_data": truth, "class_labels": LABELS}},
        masks={"segmentation": {"mask_data": road_mask(), "class_labels": {0: "bg", 4: "road",
                                                                          5: "sky"}}})


def test_an_image_with_boxes_and_a_mask_sends_its_groups_and_the_mask_png(session, panel):
    widget, cap = panel
    wl.init(project="boxes")
    wl.log({"street": image_with_overlays()}, step=0)
    assert widget.flush()
    assert card(widget, "street")["kind"] == "image"
    reply, buffers = ask(widget, cap, 1, type="media", key="street", step=0)
    assert reply["ok"] and reply["count"] == 1  # one image logged; the mask is an extra item
    image, mask = reply["items"]
    assert len(buffers) == 2 and image["mime"] == "image/png" and image["caption"] == "street"
    groups = {g["group"]: g for g in image["boxes"]}
    assert sorted(groups) == ["ground_truth", "predictions"]
    predictions = groups["predictions"]
    assert predictions["class_labels"] == {"1": "cat", "2": "dog", "3": "car"}
    assert predictions["count"] == 2 and len(predictions["box_data"]) == 2
    first = predictions["box_data"][0]
    assert first["class_id"] == 1 and first["scores"] == {"score": 0.9}
    assert first["box_caption"] == "a cat" and first["position"]["maxX"] == 0.4
    assert groups["ground_truth"]["box_data"][0]["domain"] == "pixel"
    # the mask: its own item after the image, pointed to by the image's "masks"
    assert image["masks"] == [{"group": "segmentation", "item": 1,
                               "class_labels": {"0": "bg", "4": "road", "5": "sky"}}]
    assert mask["role"] == "mask" and mask["of"] == 0 and mask["group"] == "segmentation"
    assert mask["mime"] == "image/png" and (mask["width"], mask["height"]) == (32, 24)
    ids = np.asarray(PILImage.open(io.BytesIO(buffers[1])))
    assert np.array_equal(ids, road_mask())


def test_a_list_of_images_keeps_the_images_first_and_points_to_each_mask(session, panel):
    widget, cap = panel
    wl.init(project="boxes")
    wl.log({"batch": [image_with_overlays(), wl.Image(np.zeros((8, 8))), image_with_overlays()]},
           step=3)
    assert widget.flush()
    reply, buffers = ask(widget, cap, 2, type="media", key="batch", step=3)
    assert reply["ok"] and reply["kind"] == "images" and reply["count"] == 3
    items = reply["items"]
    assert len(items) == len(buffers) == 5
    assert [i.get("role") for i in items] == [None, None, None, "mask", "mask"]
    assert "boxes" not in items[1] and "masks" not in items[1]
    assert [items[i]["masks"][0]["item"] for i in (0, 2)] == [3, 4]
    assert [items[3]["of"], items[4]["of"]] == [0, 2]


def test_the_boxes_sent_per_image_are_capped_and_the_reply_says_how_many_there_are(session,
                                                                                  panel):
    widget, cap = panel
    wl.init(project="boxes")
    wl.log({"crowd": image_with_overlays(n_boxes=1200)}, step=0)
    assert widget.flush()
    reply, _ = ask(widget, cap, 3, type="media", key="crowd", step=0)
    groups = {g["group"]: g for g in reply["items"][0]["boxes"]}
    # the small group comes whole; the crowded one gets the rest of the budget
    assert len(groups["predictions"]["box_data"]) == groups["predictions"]["count"] == 2
    assert groups["ground_truth"]["count"] == 1200
    assert len(groups["ground_truth"]["box_data"]) == MAX_BOXES - 2


def test_a_cap_shares_the_budget_between_groups():
    assert shares([10, 1000, 1000], 500) == [10, 245, 245]
    assert shares([3, 4], 500) == [3, 4]
    assert shares([], 500) == []
    assert sum(shares([700, 700, 700], 500)) <= 500


def test_a_bounding_boxes_group_logged_alone_is_a_boxes_card(session, panel):
    widget, cap = panel
    wl.init(project="boxes")
    boxes = [box(10, 20, 50, 60, 1, domain="pixel"), box(70, 5, 120, 40, 2, domain="pixel")]
    wl.log({"detections": wl.BoundingBoxes2D({"box_data": boxes, "class_labels": LABELS},
                                              "predictions")}, step=5)
    assert widget.flush()
    entry = card(widget, "detections")
    assert entry["kind"] == "boxes" and entry["value"]["group"] == "predictions"
    reply, buffers = ask(widget, cap, 4, type="media", key="detections", step=5)
    assert reply["ok"] and reply["kind"] == "boxes"
    (item,) = reply["items"]
    assert item["mime"] == "application/json" and item["role"] == "boxes"
    assert item["count"] == item["sent"] == 2
    group = json.loads(buffers[0])
    assert group["group"] == "predictions" and group["class_labels"]["2"] == "dog"
    assert [b["position"]["maxX"] for b in group["box_data"]] == [50, 120]


def test_a_crowded_boxes_group_logged_alone_is_capped(session, panel):
    widget, cap = panel
    wl.init(project="boxes")
    many = [box(i / 2000, 0.1, i / 2000 + 0.01, 0.2, 1) for i in range(900)]
    wl.log({"many": wl.BoundingBoxes2D({"box_data": many}, "p")}, step=0)
    assert widget.flush()
    reply, buffers = ask(widget, cap, 5, type="media", key="many", step=0)
    assert reply["items"][0]["count"] == 900 and reply["items"][0]["sent"] == MAX_BOXES
    assert len(json.loads(buffers[0])["box_data"]) == MAX_BOXES


def test_an_image_mask_logged_alone_is_a_mask_card_with_its_png(session, panel):
    widget, cap = panel
    wl.init(project="boxes")
    wl.log({"seg": wl.ImageMask({"mask_data": road_mask(), "class_labels": {4: "road"}},
                                "truth")}, step=2)
    assert widget.flush()
    entry = card(widget, "seg")
    assert entry["kind"] == "mask"
    assert entry["value"]["group"] == "truth" and entry["value"]["class_labels"] == {"4": "road"}
    reply, buffers = ask(widget, cap, 6, type="media", key="seg", step=2)
    assert reply["ok"] and reply["kind"] == "mask"
    (item,) = reply["items"]
    assert item["role"] == "mask" and item["class_labels"] == {"4": "road"}
    assert (item["width"], item["height"]) == (32, 24)
    assert np.array_equal(np.asarray(PILImage.open(io.BytesIO(buffers[0]))), road_mask())


def test_the_mask_of_the_latest_image_is_kept_when_its_file_is_deleted(session, panel):
    widget, cap = panel
    run = wl.init(project="boxes")
    wl.log({"street": image_with_overlays()}, step=0)
    assert widget.flush()
    for png in (run.dir / "media" / "masks").glob("*.png"):
        png.unlink()
    reply, buffers = ask(widget, cap, 7, type="media", key="street", step=0)
    assert reply["ok"] and len(buffers) == 2
    assert np.array_equal(np.asarray(PILImage.open(io.BytesIO(buffers[1]))), road_mask())


def test_a_deleted_mask_of_an_older_step_is_refused_with_its_name(session, panel):
    widget, cap = panel
    run = wl.init(project="boxes")
    wl.log({"street": image_with_overlays()}, step=0)
    wl.log({"street": image_with_overlays(n_boxes=1)}, step=1)
    assert widget.flush()
    old = next((run.dir / "media" / "masks").glob("street_segmentation_0_*.png"))
    old.unlink()
    reply, buffers = ask(widget, cap, 8, type="media", key="street", step=0)
    assert not reply["ok"] and old.name in reply["message"] and buffers == []
