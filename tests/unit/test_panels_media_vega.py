"""The RunMedia card of wl.plot_table custom charts (panels/media_cards/vega.py): the summary in
the trait, and the complete Vega-Lite spec (rows inline, at most 10,000) with a media request."""

from __future__ import annotations

import json

import weightslab_nb as wl
from weightslab_nb.panels.media_cards.vega import MAX_ROWS_SENT, thinned

from tests.panel_capture import ask, card
from tests.panel_capture import run_media_panel  # noqa: F401 (the fixture `panel`)


def test_a_custom_chart_is_a_vega_card_whose_spec_comes_with_the_rows(session, panel):
    widget, cap = panel
    wl.init(project="cards")
    table = wl.Table(columns=["epoch", "acc"], data=[[0, 0.5], [1, 0.7], [2, 0.8]])
    wl.log({"acc": wl.plot_table("wl/scatter", table, {"x": "epoch", "y": "acc"},
                                 {"title": "Accuracy"})}, step=0)
    assert widget.flush()
    entry = card(widget, "acc")
    assert entry["kind"] == "vega"
    assert entry["value"] == {"spec_name": "wl/scatter", "title": "Accuracy", "nrows": 3,
                              "fields": {"x": "epoch", "y": "acc"}}
    reply, buffers = ask(widget, cap, 1, type="media", key="acc", step=0)
    assert reply["ok"] and reply["kind"] == "vega" and reply["count"] == 1
    item = reply["items"][0]
    assert item["mime"] == "application/json" and item["rows"] == item["nrows"] == 3
    spec = json.loads(buffers[0])
    assert spec["title"] == "Accuracy" and spec["mark"]["type"] == "point"
    assert spec["encoding"]["x"]["field"] == "epoch"
    assert spec["data"] == {"values": [{"epoch": 0, "acc": 0.5}, {"epoch": 1, "acc": 0.7},
                                       {"epoch": 2, "acc": 0.8}]}


def test_a_large_table_is_thinned_to_evenly_spaced_rows_and_says_so(session, panel):
    widget, cap = panel
    wl.init(project="cards")
    n = 25_000
    table = wl.Table(columns=["i", "v"], data=[[i, i * 0.5] for i in range(n)])
    wl.log({"big": wl.plot_table("wl/line", table, {"x": "i", "y": "v"})}, step=0)
    assert widget.flush()
    assert card(widget, "big")["value"]["nrows"] == n
    reply, buffers = ask(widget, cap, 2, type="media", key="big", step=0)
    item = reply["items"][0]
    assert item["rows"] == MAX_ROWS_SENT and item["nrows"] == n
    xs = [row["i"] for row in json.loads(buffers[0])["data"]["values"]]
    assert len(xs) == MAX_ROWS_SENT and xs[0] == 0 and xs[-1] == n - 1
    assert xs == sorted(xs) and max(b - a for a, b in zip(xs, xs[1:])) <= 3


def test_thinning_keeps_small_tables_whole():
    rows = [[i] for i in range(5)]
    assert thinned(rows, 10) is rows
    assert thinned(rows, 3) == [[0], [2], [4]]


def test_a_deleted_spec_file_is_refused_with_its_name(session, panel):
    widget, cap = panel
    run = wl.init(project="cards")
    table = wl.Table(columns=["v"], data=[[1], [2]])
    wl.log({"h": wl.plot_table("wl/histogram", table, {"value": "v"})}, step=0)
    wl.log({"h": wl.plot_table("wl/histogram", table, {"value": "v"}, {"title": "t"})}, step=1)
    assert widget.flush()
    old = next((run.dir / "media" / "vega").glob("h_0_*.vl.json"))
    old.unlink()
    reply, _ = ask(widget, cap, 3, type="media", key="h", step=0)
    assert not reply["ok"] and old.name in reply["message"]
