"""RunMedia cards of the wandb data types (panels/media_cards): the summary in the trait, the
bytes with a media request, and bundled browser libraries with an asset request."""

from __future__ import annotations

import json

import pytest

import weightslab_nb as wl
from tests.panel_capture import Capture, ask
from weightslab_nb.panels import RunMedia
from weightslab_nb.panels.media_cards import VENDOR_ASSETS


@pytest.fixture
def panel(session):
    widget = RunMedia(session)
    cap = Capture(widget)
    yield widget, cap
    widget.close()


def card(widget, key):
    return next(e for e in widget.entries if e["key"] == key)


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
