"""The RunMedia card of wl.Plotly (panels/media_cards/plotly.py): a small summary in the trait
(traces, their types, points, size) and the figure's JSON with a media request, for a figure of
100k points too."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas  # noqa: F401 - before a panel thread imports it: plotly peeks at sys.modules
import pytest

import weightslab_nb as wl
from tests.panel_capture import ask, card
from tests.panel_capture import run_media_panel  # noqa: F401 (the fixture `panel`)
from tests.unit.test_media_plotly import trace_values
from weightslab_nb.panels.media import MAX_FILE_BYTES

go = pytest.importorskip("plotly.graph_objects", reason="the plotly extra is not installed")


def scores(n: int, traces: int = 1):
    rng = np.random.default_rng(0)
    return go.Figure([go.Scatter(x=np.arange(n), y=rng.random(n), name=f"run {i}")
                      for i in range(traces)] + [go.Bar(x=["a", "b"], y=[1, 2])])


def test_a_plotly_figure_is_a_plotly_card_summed_up_in_the_trait(session, panel):
    widget, _ = panel
    wl.init(project="cards")
    wl.log({"fig": wl.Plotly(scores(40, traces=3))}, step=0)
    assert widget.flush()
    entry = card(widget, "fig")
    assert entry["kind"] == "plotly" and entry["step"] == 0
    value = entry["value"]
    assert value["traces"] == 4 and value["trace_types"] == ["scatter", "bar"]
    assert value["points"] == 3 * 40 + 2
    assert value["size"] > 0 and value["path"].endswith(".plotly.json")
    assert len(json.dumps(entry)) < 1000  # the figure itself is not in the trait


def test_the_media_request_sends_the_figure_json_of_the_step_asked(session, panel):
    widget, cap = panel
    wl.init(project="cards")
    wl.log({"fig": wl.Plotly(scores(5))}, step=0)
    wl.log({"fig": wl.Plotly(scores(9))}, step=1)
    assert widget.flush()
    reply, buffers = ask(widget, cap, 1, type="media", key="fig", step=0)
    assert reply["ok"] and reply["kind"] == "plotly" and reply["step"] == 0 and reply["count"] == 1
    assert reply["items"][0]["mime"] == "application/json"
    figure = json.loads(buffers[0])
    assert len(figure["data"]) == 2 and figure["data"][0]["type"] == "scatter"
    assert trace_values(figure["data"][0], "x").tolist() == [0, 1, 2, 3, 4]


def test_a_100k_point_figure_is_sent_whole_well_under_the_file_limit(session, panel):
    widget, cap = panel
    wl.init(project="cards")
    figure = go.Figure(go.Scatter(x=np.arange(100_000), y=np.random.default_rng(1).random(100_000),
                                  mode="lines"))
    start = time.perf_counter()
    wl.log({"big": wl.Plotly(figure)}, step=0)
    assert widget.flush()
    reply, buffers = ask(widget, cap, 2, type="media", key="big", step=0)
    elapsed = time.perf_counter() - start
    assert reply["ok"] and card(widget, "big")["value"]["points"] == 100_000
    # numpy arrays travel in plotly's binary form: ~2.4 MB for x and y, a third of the limit
    assert len(buffers[0]) < MAX_FILE_BYTES / 3
    sent = json.loads(buffers[0])["data"][0]
    np.testing.assert_array_equal(trace_values(sent, "y"), figure.data[0].y)
    assert elapsed < 10.0


def test_a_figure_over_the_panel_file_limit_is_refused_with_a_reason(session, panel):
    widget, cap = panel
    wl.init(project="cards")
    # plain Python lists are written as JSON text: 450k floats are over 8 MiB
    ys = np.random.default_rng(2).random(450_000).tolist()
    wl.log({"huge": wl.Plotly(go.Figure(go.Scatter(y=ys)))}, step=0)
    assert widget.flush()
    assert card(widget, "huge")["value"]["size"] > MAX_FILE_BYTES
    reply, _ = ask(widget, cap, 3, type="media", key="huge", step=0)
    assert not reply["ok"] and "larger than 8 MiB" in reply["message"]
