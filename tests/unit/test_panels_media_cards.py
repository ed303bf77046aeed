"""RunMedia cards of the wandb data types (panels/media_cards): the summary in the trait, the
bytes with a media request, and bundled browser libraries with an asset request."""

from __future__ import annotations

import json

import pytest

import weightslab_nb as wl
from tests.panel_capture import ask, card
from tests.panel_capture import run_media_panel  # noqa: F401 (the fixture `panel`)
from weightslab_nb.panels.media_cards import VENDOR_ASSETS
from weightslab_nb.panels.media_cards.registry import card_of_list


def test_json_metadata_is_a_json_card_whose_content_comes_with_a_media_request(session, panel):
    widget, cap = panel
    wl.init(project="cards")
    wl.log({"meta": wl.JSONMetadata({"lr": 0.1, "layers": [64, 32], "name": "mlp"})}, step=0)
    wl.log({"meta": wl.JSONMetadata({"lr": 0.05})}, step=1)
    assert widget.flush()
    entry = card(widget, "meta")
    assert entry["kind"] == "json" and entry["step"] == 1 and entry["steps"] == [0, 1]
    reply, buffers = ask(widget, cap, 1, type="media", key="meta", step=0)
    assert reply["ok"] and reply["kind"] == "json" and reply["count"] == 1
    assert reply["items"][0]["mime"] == "application/json"
    assert sorted(reply["items"][0]["keys"]) == ["layers", "lr", "name"]
    assert json.loads(buffers[0]) == {"layers": [64, 32], "lr": 0.1, "name": "mlp"}


def test_a_deleted_json_file_is_refused_with_its_name(session, panel, tmp_path):
    widget, cap = panel
    run = wl.init(project="cards")
    wl.log({"meta": wl.JSONMetadata({"a": 1})}, step=0)
    wl.log({"meta": wl.JSONMetadata({"a": 2})}, step=1)
    assert widget.flush()
    old = next((run.dir / "media" / "metadata").glob("meta_0_*.json"))
    old.unlink()
    reply, _ = ask(widget, cap, 2, type="media", key="meta", step=0)
    assert not reply["ok"] and old.name in reply["message"]


@pytest.mark.parametrize("name", sorted(VENDOR_ASSETS))
def test_a_bundled_library_comes_as_one_buffer(panel, name):
    widget, cap = panel
    reply, buffers = ask(widget, cap, 3, type="asset", name=name)
    assert reply["ok"], reply.get("message")
    assert reply["size"] == len(buffers[0]) > 1000


@pytest.mark.parametrize("name", [None, "../media.js", "lodash", 3])
def test_an_unknown_library_is_refused_with_the_names_accepted(panel, name):
    widget, cap = panel
    reply, buffers = ask(widget, cap, 4, type="asset", name=name)
    assert not reply["ok"] and "plotly" in reply["message"] and buffers == []


def test_a_list_of_values_of_one_card_kind_is_one_card_with_a_figure_each(session, panel):
    widget, cap = panel
    wl.init(project="cards")
    wl.log({"meta": [wl.JSONMetadata({"i": i}) for i in range(3)]}, step=0)
    assert widget.flush()
    entry = card(widget, "meta")
    assert entry["kind"] == "json" and entry["value"]["list"] is True
    assert entry["value"]["count"] == 3 and len(entry["value"]["items"]) == 3
    reply, buffers = ask(widget, cap, 5, type="media", key="meta", step=0)
    assert reply["ok"] and reply["count"] == 3
    assert [m["index"] for m in reply["items"]] == [0, 1, 2]
    assert [json.loads(b) for b in buffers] == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_a_list_mixing_card_kinds_is_not_drawn_as_one(tmp_path):
    one = wl.JSONMetadata({"a": 1}).to_json(tmp_path, "x", 0)
    two = wl.Graph().to_json(tmp_path, "y", 0)
    assert card_of_list({"_type": "media-list", "items": [one, two]}) is None
    assert card_of_list({"_type": "media-list", "items": []}) is None
    assert card_of_list({"_type": "media-list", "items": [one, one]}).kind == "json"
